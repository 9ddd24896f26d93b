/**
 * Exact values: the hand-written log of support.ts through the real pipeline, scraped from the
 * real endpoint, compared series by series and bucket by bucket with numbers derived by hand
 * (the derivation is next to each expectation). Buckets are 1 µs · 2^k: 1e-6 … 67.108864 s.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DURATION_BUCKETS, PollscopeMetrics } from '../../src/export/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../src/export/metrics-server.js';
import { replay } from '../../src/replay.js';
import { ROOT } from '../helpers.js';
import { handLog, key, run, samples, scrape } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-metrics-exact-'));
const logPath = path.join(tmp, 'relay-7.log');
writeFileSync(logPath, handLog().join('\n') + '\n');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const RELAY = 'relay-7';
const T0 = Date.UTC(2022, 3, 21, 22, 0, 0) / 1000; // 2022-04-21T22:00:00Z

/** Cumulative bucket counts over DURATION_BUCKETS for observations (seconds), plus +Inf. */
function expectedBuckets(name: string, labels: Record<string, string>, observed: number[]): Map<string, number> {
  const out = new Map<string, number>();
  const le = (b: number) => String(b);
  for (const b of DURATION_BUCKETS)
    out.set(key(name + '_bucket', { ...labels, le: le(b) }), observed.filter((v) => v <= b).length);
  out.set(key(name + '_bucket', { ...labels, le: '+Inf' }), observed.length);
  out.set(key(name + '_count', labels), observed.length);
  return out;
}

function expectSeries(got: Map<string, number>, want: Map<string, number>): void {
  for (const [k, v] of want) expect([k, got.get(k)]).toEqual([k, v]);
}

describe('metrics of the hand-written log, scraped from /metrics', () => {
  let server: MetricsServer;
  let got: Map<string, number>;
  let body: string;

  beforeAll(async () => {
    const metrics = new PollscopeMetrics();
    const sink = metrics.forRelay(RELAY);
    await replay([logPath], {
      relay: RELAY,
      sinks: [sink],
      maxLineBytes: 200,
      onPipeline: (pipeline) => sink.attach(pipeline),
    });
    server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 });
    const res = await scrape(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    body = res.body;
    got = samples(body);
  });
  afterAll(async () => {
    await server?.close();
  });

  const r = { relay: RELAY };

  it('counts every physical line once, by outcome', () => {
    // line 1 (the `#` header, no record before it) malformed; line 22 (370 bytes > 200) oversize;
    // 8 swarm lines + 4 + 5 + 4 + 4 wait lines + the last wait:+ decoded = 26;
    // yamux, 3 relay_v2 records and the continuation of one of them ignored = 5. 26+5+1+1 = 33 = wc -l.
    expectSeries(
      got,
      new Map([
        [key('pollscope_lines_total', { ...r, outcome: 'decoded' }), 26],
        [key('pollscope_lines_total', { ...r, outcome: 'ignored' }), 5],
        [key('pollscope_lines_total', { ...r, outcome: 'malformed' }), 1],
        [key('pollscope_lines_total', { ...r, outcome: 'oversize' }), 1],
      ]),
    );
    expect(readFileSync(logPath, 'utf8').split('\n').length - 1).toBe(33);
  });

  it('wakeups and wait durations by reason, bucket by bucket', () => {
    // Waits on epoll_fd 4 (timeout None): 00.000500→01.000500 = 1 s (key 0: io);
    // 01.070800→02.000000 = 0.9292 s (keys 0, 1: io); 03.500300→04.000000 = 0.4997 s (io);
    // 08.300300→09.300300 = 1 s (key usize::MAX with timeout None: notify). The last wait never ends.
    expectSeries(
      got,
      new Map([
        [key('relay_epoll_wakeups_total', { ...r, reason: 'io' }), 3],
        [key('relay_epoll_wakeups_total', { ...r, reason: 'notify' }), 1],
        [key('relay_epoll_wakeups_total', { ...r, reason: 'timeout' }), 0],
        [key('relay_epoll_wakeups_total', { ...r, reason: 'spurious' }), 0],
        [key('relay_epoll_wakeups_total', { ...r, reason: 'unknown' }), 0],
      ]),
    );
    // 0.4997 s falls in le=0.524288; 0.9292 s and 1 s in le=1.048576.
    expectSeries(
      got,
      expectedBuckets('relay_epoll_wait_duration_seconds', { ...r, reason: 'io' }, [1, 0.9292, 0.4997]),
    );
    expectSeries(got, expectedBuckets('relay_epoll_wait_duration_seconds', { ...r, reason: 'notify' }, [1]));
    expectSeries(got, expectedBuckets('relay_epoll_wait_duration_seconds', { ...r, reason: 'timeout' }, []));
    expect(got.get(key('relay_epoll_wait_duration_seconds_bucket', { ...r, reason: 'io', le: '0.524288' }))).toBe(1);
    expect(got.get(key('relay_epoll_wait_duration_seconds_bucket', { ...r, reason: 'io', le: '0.262144' }))).toBe(0);
    expect(got.get(key('relay_epoll_wait_duration_seconds_sum', { ...r, reason: 'io' }))).toBeCloseTo(2.4289, 9);
    expect(got.get(key('relay_epoll_wait_duration_seconds_sum', { ...r, reason: 'notify' }))).toBe(1);
  });

  it('ready events by flag and events per wakeup', () => {
    // Listed masks: 0x1, 0x5 (OUT|IN), 0x2019 (RDHUP|HUP|ERR|IN), 0x1, 0x1 (the notify key).
    expectSeries(
      got,
      new Map([
        [key('relay_epoll_ready_events_total', { ...r, flag: 'in' }), 5],
        [key('relay_epoll_ready_events_total', { ...r, flag: 'out' }), 1],
        [key('relay_epoll_ready_events_total', { ...r, flag: 'err' }), 1],
        [key('relay_epoll_ready_events_total', { ...r, flag: 'hup' }), 1],
        [key('relay_epoll_ready_events_total', { ...r, flag: 'rdhup' }), 1],
        [key('relay_epoll_ready_events_total', { ...r, flag: 'pri' }), 0],
      ]),
    );
    // res = 1, 2, 1, 1.
    const b = (le: string) => key('relay_epoll_events_per_wakeup_bucket', { ...r, le });
    expectSeries(
      got,
      new Map([
        [b('0'), 0],
        [b('1'), 3],
        [b('2'), 4],
        [b('4'), 4],
        [b('1024'), 4],
        [b('+Inf'), 4],
        [key('relay_epoll_events_per_wakeup_sum', r), 5],
        [key('relay_epoll_events_per_wakeup_count', r), 4],
      ]),
    );
  });

  it('poll cycles by result, bucket by bucket', () => {
    // 00.000000→00.000400 = 400 µs pending; 01.000700→01.070700 = 70 ms ready;
    // 02.000200→03.500200 = 1.5 s pending; 06.500000→06.500100 = 100 µs pending.
    expectSeries(
      got,
      new Map([
        [key('relay_swarm_polls_total', { ...r, result: 'ready' }), 1],
        [key('relay_swarm_polls_total', { ...r, result: 'pending' }), 3],
        [key('relay_swarm_polls_total', { ...r, result: 'unknown' }), 0],
      ]),
    );
    expectSeries(
      got,
      expectedBuckets('relay_swarm_poll_duration_seconds', { ...r, result: 'pending' }, [0.0004, 1.5, 0.0001]),
    );
    expectSeries(got, expectedBuckets('relay_swarm_poll_duration_seconds', { ...r, result: 'ready' }, [0.07]));
    expect(got.get(key('relay_swarm_poll_duration_seconds_bucket', { ...r, result: 'ready', le: '0.065536' }))).toBe(0);
    expect(got.get(key('relay_swarm_poll_duration_seconds_bucket', { ...r, result: 'ready', le: '0.131072' }))).toBe(1);
    expect(got.get(key('relay_swarm_poll_duration_seconds_sum', { ...r, result: 'pending' }))).toBeCloseTo(1.5005, 9);
  });

  it('wake → poll delays and stalls', () => {
    // io wakes 01.000500, 02.000000, 04.000000 → poll starts 01.000700, 02.000200, 06.500000.
    expectSeries(got, expectedBuckets('relay_wake_to_poll_delay_seconds', r, [0.0002, 0.0002, 2.5]));
    expect(got.get(key('relay_wake_to_poll_delay_seconds_sum', r))).toBeCloseTo(2.5004, 9);
    // 70 ms poll: slow_poll; 1.5 s poll: blocked_poll; 2.5 s readiness: starved; 06.500200→08.300200: silent.
    for (const kind of ['slow_poll', 'blocked_poll', 'starved', 'silent']) {
      expect(got.get(key('relay_poll_stalls_total', { ...r, kind }))).toBe(1);
    }
  });

  it('log-time gauges; no timestamps on samples; nothing live-only in a replay registry', () => {
    expect(got.get(key('relay_swarm_last_poll_timestamp_seconds', r))).toBeCloseTo(T0 + 6.5001, 6);
    expect(got.get(key('relay_log_last_line_timestamp_seconds', r))).toBe(T0 + 12);
    for (const line of body.split('\n')) if (line && !line.startsWith('#')) expect(line.split(' ')).toHaveLength(2);
    expect(body).not.toContain('relay_poll_stall_active_seconds');
    expect(body).not.toContain('process_cpu');
  });
});

describe('replay --metrics-out', () => {
  it("writes the same values as OpenMetrics stamped with the last line's log time, and promtool backfills it", async () => {
    const out = path.join(tmp, 'relay-7.om');
    const cli = await run(process.execPath, [
      path.join(ROOT, 'dist/cli.js'),
      'replay',
      '--max-line-bytes',
      '200',
      '--relay',
      RELAY,
      '--metrics-out',
      out,
      logPath,
    ]);
    expect(cli.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE relay_epoll_wakeups counter\n');
    const stamp = String(T0 + 12);
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const l of lines) expect(l.split(' ')[2]).toBe(stamp);
    const got = samples(lines.map((l) => l.split(' ').slice(0, 2).join(' ')).join('\n'));
    expect(got.get(key('relay_epoll_wakeups_total', { relay: RELAY, reason: 'io' }))).toBe(3);
    expect(
      got.get(key('relay_epoll_wait_duration_seconds_bucket', { relay: RELAY, reason: 'io', le: '0.524288' })),
    ).toBe(1);
    expect(got.get(key('pollscope_bytes_read_total'))).toBe(readFileSync(logPath).length);

    const blocks = path.join(tmp, 'blocks');
    const backfill = await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', out, blocks]);
    expect(backfill.stderr + backfill.stdout).not.toMatch(/error/i);
    expect(backfill.code).toBe(0);
    mkdirSync(path.join(blocks, 'wal')); // promtool tsdb dump opens the directory as a database
    const dump = await run('promtool', ['tsdb', 'dump', '--match=relay_epoll_wakeups_total', blocks]);
    expect(dump.stdout).toContain(
      `{__name__="relay_epoll_wakeups_total", reason="io", relay="${RELAY}"} 3 ${(T0 + 12) * 1000}\n`,
    );
  });
});
