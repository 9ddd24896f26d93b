/**
 * A real Prometheus scrapes a modern (span-based, tokio) relay's metrics: `pollscope run` follows a
 * file into which the tokio ground-truth fixture (test/real-relay-tokio/fixtures/stalls.full.log,
 * tracing-subscriber Full with FmtSpan::CLOSE, ~8.5 s of log) is appended at the pace of its own
 * timestamps, with traces going to a real OTLP receiver on loopback. Prometheus (Debian's 2.42,
 * exemplar storage on) scrapes it every second. Afterwards its API must hold the relay_libp2p_*
 * series with the values the fixture's truth file states (connections established / closed /
 * active, Connection::poll calls), slow polls > 0, and exemplars on the poll histogram that name
 * spans the OTLP receiver got; promtool checks what we serve.
 * Needs `npm run build` first (npm test does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, WAIT_MS, freePort, stopChild, waitFor } from '../helpers.js';
import { OtlpReceiver } from '../traces/otlp-receiver.js';
import { key, run, samples, scrape } from './support.js';

const RELAY = 'relay-tokio';
const FIXTURE = path.join(ROOT, 'test/real-relay-tokio/fixtures/stalls.full.log');
const TRUTH = JSON.parse(readFileSync(FIXTURE.replace(/\.log$/, '.truth.json'), 'utf8')) as {
  connection_polls: number;
  connections: Array<{ id: number; closed_us: number | null }>;
};
const LINES = readFileSync(FIXTURE, 'utf8')
  .split('\n')
  .filter((l) => l !== '').length;

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-prometheus-tokio-'));
const followed = path.join(tmp, 'relay.log');
const children: ChildProcess[] = [];
const receiver = new OtlpReceiver();

function start(cmd: string, args: string[]): { child: ChildProcess; stderr: () => string; stdout: () => string } {
  const child = spawn(cmd, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, stderr: () => err, stdout: () => out };
}

/** Waits (up to WAIT_MS) until `f` gives a value; an error (a server not up yet) counts as not yet. */
function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined): Promise<T> {
  return waitFor(
    what,
    async () => {
      try {
        return await f();
      } catch {
        return undefined; // not up yet
      }
    },
    { intervalMs: 200 },
  );
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
let promUrl = '';
async function query(q: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(body)}`);
  return body.data.result;
}
async function one(q: string): Promise<number> {
  const r = await query(q);
  if (r.length !== 1) throw new Error(`query ${q}: ${r.length} series`);
  return Number(r[0].value[1]);
}

describe('a real Prometheus scraping `pollscope run` on a tokio relay log', () => {
  let daemonUrl = '';

  beforeAll(async () => {
    await receiver.start();
    writeFileSync(followed, '');
    const daemon = start(process.execPath, [
      path.join(ROOT, 'dist/cli.js'),
      'run',
      '--log',
      followed,
      '--relay',
      RELAY,
      '--from',
      'start',
      '--checkpoint',
      path.join(tmp, 'checkpoint.json'),
      '--metrics-listen',
      '127.0.0.1:0',
      '--otlp-endpoint',
      receiver.url,
    ]);
    daemonUrl = await until(
      "the daemon's metrics endpoint",
      () => /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(daemon.stderr())?.[1],
    );

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(
      path.join(tmp, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: pollscope',
        '    static_configs:',
        `      - targets: ['${new URL(daemonUrl).host}']`,
        '',
      ].join('\n'),
    );
    start('prometheus', [
      `--config.file=${path.join(tmp, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
    ]);
    await until('Prometheus scraping the daemon', async () => {
      const up = await query('up{job="pollscope"}');
      return up.length === 1 && up[0].value[1] === '1' ? true : undefined;
    });

    // The relay "writes" its log now, at the pace of its timestamps (~8.5 s).
    const writer = start(process.execPath, [
      path.join(ROOT, 'test/metrics/pace-writer.mjs'),
      JSON.stringify({ src: FIXTURE, dst: followed, lines: LINES, speed: 1 }),
    ]);
    await until('the writer', () => (writer.stdout().includes(`done ${LINES}`) ? true : undefined));
    await until('the daemon to read every line', async () => {
      const s = samples((await scrape(`${daemonUrl}/metrics`)).body);
      const n = ['decoded', 'ignored', 'malformed', 'oversize'].reduce(
        (a, o) => a + (s.get(key('pollscope_lines_total', { relay: RELAY, outcome: o })) ?? 0),
        0,
      );
      return n === LINES ? true : undefined;
    });
    await until('Prometheus to scrape the final state', async () => {
      const n = await one(`sum(pollscope_lines_total{relay="${RELAY}"})`);
      return n === LINES ? true : undefined;
    });
  }, 6 * WAIT_MS); // five waits of up to WAIT_MS each, and the writer

  afterAll(async () => {
    for (const c of children) await stopChild(c);
    await receiver.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 2 * WAIT_MS);

  it('connections established, closed and active are the fixture truth', async () => {
    const closed = TRUTH.connections.filter((c) => c.closed_us !== null).length;
    expect(TRUTH.connections.length).toBeGreaterThan(closed); // some stay open: active > 0
    expect(await one(`relay_libp2p_connections_total{relay="${RELAY}",event="established"}`)).toBe(
      TRUTH.connections.length,
    );
    expect(await one(`relay_libp2p_connections_total{relay="${RELAY}",event="closed"}`)).toBe(closed);
    expect(await one(`relay_libp2p_connections_active{relay="${RELAY}"}`)).toBe(TRUTH.connections.length - closed);
  });

  it('the Connection::poll histogram counts every call the truth counts; slow polls are counted', async () => {
    const sel = `relay="${RELAY}",span="Connection::poll"`;
    expect(await one(`relay_libp2p_poll_duration_seconds_count{${sel}}`)).toBe(TRUTH.connection_polls);
    expect(await one(`relay_libp2p_poll_duration_seconds_bucket{${sel},le="+Inf"}`)).toBe(TRUTH.connection_polls);
    // The six induced slow polls (5–20 ms) are in buckets above 5 ms …
    const over5ms = await one(
      `relay_libp2p_poll_duration_seconds_count{${sel}} - on() relay_libp2p_poll_duration_seconds_bucket{${sel},le="0.005"}`,
    );
    expect(over5ms).toBeGreaterThanOrEqual(6);
    // … and slow polls (≥ 50 µs by default) counted, no more than there were calls.
    const slow = await one(`relay_libp2p_slow_polls_total{${sel}}`);
    expect(slow).toBeGreaterThan(6);
    expect(slow).toBeLessThanOrEqual(TRUTH.connection_polls);
    expect(await one(`relay_libp2p_slow_polls_total{relay="${RELAY}",span="Pool::poll"}`)).toBe(0);
  });

  it('exemplars on the poll histogram name spans the OTLP receiver got, and Prometheus stored them', async () => {
    const om = await scrape(`${daemonUrl}/metrics`, 'application/openmetrics-text; version=1.0.0');
    const exemplars = [
      ...om.body.matchAll(
        /^relay_libp2p_poll_duration_seconds_bucket\{([^}]*)\} \d+ # \{traceId="([0-9a-f]{32})",spanId="([0-9a-f]{16})"\} (\S+)/gm,
      ),
    ];
    const connExemplars = exemplars.filter((m) => m[1].includes('span="Connection::poll"'));
    expect(connExemplars.length).toBeGreaterThan(0);
    await until('the receiver to hold the exemplars’ spans', () => {
      const got = new Set(receiver.spans.map((s) => `${s.traceId}/${s.spanId}`));
      return connExemplars.every((m) => got.has(`${m[2]}/${m[3]}`)) ? true : undefined;
    });
    const named = receiver.spans.filter((s) => connExemplars.some((m) => m[2] === s.traceId && m[3] === s.spanId));
    // Each exemplar's span is that poll: its duration is the exemplar's value.
    for (const m of connExemplars) {
      const span = named.find((s) => s.traceId === m[2] && s.spanId === m[3])!;
      expect(span).toBeDefined();
      expect(Math.abs(Number(span.end - span.start) / 1e9 - Number(m[4]))).toBeLessThan(2e-6);
    }
    const res = await fetch(
      `${promUrl}/api/v1/query_exemplars?query=${encodeURIComponent(`relay_libp2p_poll_duration_seconds_bucket{relay="${RELAY}"}`)}&start=0&end=${Date.now() / 1000 + 60}`,
    );
    const body = (await res.json()) as {
      status: string;
      data: Array<{ exemplars: Array<{ labels: Record<string, string> }> }>;
    };
    expect(body.status).toBe('success');
    const stored = body.data.flatMap((d) => d.exemplars.map((e) => e.labels.traceId));
    expect(stored.length).toBeGreaterThan(0);
    for (const t of stored) expect(receiver.spans.some((s) => s.traceId === t)).toBe(true);
  });

  it('promtool finds no problem in our text', async () => {
    const text = (await scrape(`${daemonUrl}/metrics`)).body;
    const check = await run('promtool', ['check', 'metrics'], text);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
  });
});
