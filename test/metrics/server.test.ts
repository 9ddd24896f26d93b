/**
 * The endpoint: routes, content negotiation (Prometheus text by default, OpenMetrics with
 * exemplars when asked), readiness, and promtool's verdict on what we serve.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { PollscopeMetrics, stampSample, type RelayMetrics } from '../../src/export/metrics.js';
import {
  negotiateFormat,
  parseListen,
  startMetricsServer,
  type MetricsServer,
} from '../../src/export/metrics-server.js';
import { RelayPipeline } from '../../src/pipeline.js';
import type { PollCycleObservation, WaitObservation } from '../../src/reactor/observations.js';
import { logTime } from '../../src/time.js';
import { handLog, key, run, samples, scrape } from './support.js';

const PROM_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TRACE = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

function pollCycle(durationNs: number, ready: boolean, exemplar?: typeof TRACE): PollCycleObservation {
  const start = logTime(1650578400, 0, 6);
  return {
    start,
    end: logTime(1650578400, durationNs, 6),
    durationNs,
    ready,
    thread: '',
    imprecise: false,
    pos: { file: 'x', line: 1, offset: 0 },
    exemplar,
  };
}

function wait(durationNs: number, exemplar?: typeof TRACE): WaitObservation {
  const t = logTime(1650578400, durationNs, 6);
  return {
    poller: 'epoll',
    fd: 4,
    start: logTime(1650578400, 0, 6),
    wake: t,
    end: t,
    durationNs,
    gapBeforeNs: null,
    sincePollEndNs: null,
    timeoutNs: null,
    res: 1,
    reasons: ['io'],
    ready: [{ key: 0, flags: 1, fd: 9 }],
    notifierRearm: null,
    thread: '',
    threadMismatch: false,
    imprecise: false,
    pos: { file: 'x', line: 1, offset: 0 },
    exemplar,
  };
}

describe('metrics server', () => {
  let metrics: PollscopeMetrics;
  let relay: RelayMetrics;
  let server: MetricsServer;
  let ready = false;

  beforeAll(async () => {
    metrics = new PollscopeMetrics({ live: true });
    relay = metrics.forRelay('edge-1');
    const pipeline = new RelayPipeline('edge-1', [relay]);
    relay.attach(pipeline);
    metrics.attachSource({ bytesRead: 4096, rotations: 2, truncations: 1 });
    const assembler = pipeline.openFile('relay.log', new Date('2022-04-21T00:00:00Z'));
    handLog().forEach((line, i) => assembler.line(line, 0, i + 1));
    assembler.flush();
    server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0, ready: () => ready });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('/healthz is up at once, /readyz only once every source was read to its end', async () => {
    expect((await scrape(`${server.url}/healthz`)).status).toBe(200);
    expect((await scrape(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await scrape(`${server.url}/readyz`)).status).toBe(200);
  });

  it('unknown paths are 404, other methods 405', async () => {
    for (const p of ['/', '/metric', '/metrics/', '/favicon.ico', '/debug/pprof'])
      expect((await scrape(`${server.url}${p}`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves Prometheus text by default and OpenMetrics when Prometheus asks for it', async () => {
    const plain = await scrape(`${server.url}/metrics`);
    expect(plain.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    expect(plain.body).not.toContain('# EOF');
    const om = await scrape(`${server.url}/metrics`, PROM_ACCEPT);
    expect(om.contentType).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(om.body.endsWith('# EOF\n')).toBe(true);
    expect(om.body).toContain(
      '# TYPE relay_epoll_wakeups counter\nrelay_epoll_wakeups_total{relay="edge-1",reason="io"} 3\n',
    );
    // The Prometheus text after an OpenMetrics render keeps the counters' names (prom-client renames them in place).
    const again = await scrape(`${server.url}/metrics`, 'text/plain;version=0.0.4');
    expect(again.body).toContain(
      '# TYPE relay_epoll_wakeups_total counter\nrelay_epoll_wakeups_total{relay="edge-1",reason="io"} 3\n',
    );
    expect(again.body).toContain('# TYPE pollscope_lines_total counter\n');
  });

  it('concurrent scrapes in both formats each get a whole, consistent document', async () => {
    const all = await Promise.all(
      Array.from({ length: 10 }, (_, i) => scrape(`${server.url}/metrics`, i % 2 ? PROM_ACCEPT : undefined)),
    );
    for (const [i, res] of all.entries()) {
      expect(res.body.endsWith('# EOF\n')).toBe(i % 2 === 1);
      expect(
        samples(res.body.replace('# EOF\n', '')).get(
          key('relay_epoll_wakeups_total', { relay: 'edge-1', reason: 'io' }),
        ),
      ).toBe(3);
      expect(res.body).toContain(i % 2 ? '# TYPE relay_swarm_polls counter' : '# TYPE relay_swarm_polls_total counter');
    }
  });

  it('live metrics: source counters, log lag, the active stall, process metrics', async () => {
    const scrapeStart = Date.now() / 1000;
    const before = samples((await scrape(`${server.url}/metrics`)).body);
    const scrapeEnd = Date.now() / 1000;
    expect(before.get(key('pollscope_bytes_read_total'))).toBe(4096);
    expect(before.get(key('pollscope_file_rotations_total'))).toBe(2);
    expect(before.get(key('pollscope_file_truncations_total'))).toBe(1);
    // The log's last line is 2022-04-21T22:00:12Z: the lag is wall time since then, taken during the
    // scrape (bracketed by the wall clock before and after it, however long a loaded machine made it).
    const lastLine = Date.UTC(2022, 3, 21, 22, 0, 12) / 1000;
    const lag = before.get(key('pollscope_log_lag_seconds', { relay: 'edge-1' }))!;
    expect(lag).toBeGreaterThanOrEqual(scrapeStart - lastLine - 1);
    expect(lag).toBeLessThanOrEqual(scrapeEnd - lastLine + 1);
    expect(before.get(key('relay_poll_stall_active_seconds', { relay: 'edge-1' }))).toBe(0);
    relay.activeStall({
      kind: 'blocked_poll',
      start: logTime(1650578412, 0, 6),
      durationNs: 3_250_000_000,
      pos: { file: 'x', line: 1, offset: 0 },
    });
    const during = samples((await scrape(`${server.url}/metrics`)).body);
    expect(during.get(key('relay_poll_stall_active_seconds', { relay: 'edge-1' }))).toBe(3.25);
    relay.activeStall(null);
    const after = samples((await scrape(`${server.url}/metrics`)).body);
    expect(after.get(key('relay_poll_stall_active_seconds', { relay: 'edge-1' }))).toBe(0);
    expect([...after.keys()].some((k) => k.startsWith('nodejs_eventloop_lag_seconds{'))).toBe(true);
    expect([...after.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total{'))).toBe(true);
    expect([...after.keys()].find((k) => k.startsWith('pollscope_build_info{'))).toMatch(/version="\d+\.\d+\.\d+"/);
  });

  it('exemplars only on observations that carry one, only in OpenMetrics', async () => {
    relay.pollCycle(pollCycle(300_000_000, true, TRACE)); // 0.3 s: le=0.524288
    relay.pollCycle(pollCycle(40_000_000, true)); // 0.04 s: le=0.065536, no exemplar
    // Cumulative: with the log's 70 ms cycle, le=0.524288 counts 3 ready cycles.
    relay.wait(wait(3_000_000, TRACE)); // 3 ms: le=0.004096
    const om = (await scrape(`${server.url}/metrics`, PROM_ACCEPT)).body;
    const exemplarLines = om.split('\n').filter((l) => l.includes(' # {'));
    expect(exemplarLines.map((l) => l.split(' # ')[0].replace(/ \d+$/, ''))).toEqual([
      'relay_epoll_wait_duration_seconds_bucket{le="0.004096",relay="edge-1",reason="io"}',
      'relay_epoll_events_per_wakeup_bucket{le="1",relay="edge-1"}',
      'relay_swarm_poll_duration_seconds_bucket{le="0.524288",relay="edge-1",result="ready"}',
    ]);
    for (const l of exemplarLines) expect(l).toContain(`# {traceId="${TRACE.traceId}",spanId="${TRACE.spanId}"}`);
    expect(om).toMatch(
      /relay_swarm_poll_duration_seconds_bucket\{le="0.524288",relay="edge-1",result="ready"\} 3 # \{[^}]+\} 0.3 \d+(\.\d+)?\n/,
    );
    const plain = (await scrape(`${server.url}/metrics`)).body;
    expect(plain).not.toContain('traceId');
  });

  it('promtool check metrics finds no problem in what we serve', async () => {
    const plain = (await scrape(`${server.url}/metrics`)).body;
    const check = await run('promtool', ['check', 'metrics'], plain);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
  });
});

describe('helpers', () => {
  it('negotiates the format from Accept', () => {
    expect(negotiateFormat(undefined)).toBe('prometheus');
    expect(negotiateFormat('*/*')).toBe('prometheus');
    expect(negotiateFormat('text/plain;version=0.0.4')).toBe('prometheus');
    expect(negotiateFormat(PROM_ACCEPT)).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text')).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text;q=0.2,text/plain;q=0.9')).toBe('prometheus');
    expect(negotiateFormat('application/openmetrics-text;q=0')).toBe('prometheus');
  });

  it('parses --metrics-listen values', () => {
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen(':9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseListen('9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseListen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    for (const bad of ['', 'localhost', '127.0.0.1:', '127.0.0.1:99999', '::1:9464', 'host:port'])
      expect(() => parseListen(bad)).toThrow();
  });

  it('stamps a sample after its value, skipping label values quote-aware', () => {
    expect(stampSample('a_total{relay="x"} 3', '12.5')).toBe('a_total{relay="x"} 3 12.5');
    expect(stampSample('a_total 3', '12.5')).toBe('a_total 3 12.5');
    expect(stampSample('a_bucket{le="1",relay="a} # \\"b\\" c"} 4 # {traceId="t"} 0.5 1.1', '9')).toBe(
      'a_bucket{le="1",relay="a} # \\"b\\" c"} 4 9 # {traceId="t"} 0.5 1.1',
    );
  });
});
