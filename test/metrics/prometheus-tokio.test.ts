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
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, WAIT_MS, stopChild, waitForAnswer, type StartedPrometheus } from '../helpers.js';
import { OtlpReceiver } from '../traces/otlp-receiver.js';
import { run, scrape, scrapedWhileWritten } from './support.js';

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
const children: ChildProcess[] = [];
const receiver = new OtlpReceiver();

let prometheus: StartedPrometheus;
async function one(q: string): Promise<number> {
  const r = await prometheus.query(q);
  if (r.length !== 1) throw new Error(`query ${q}: ${r.length} series`);
  return Number(r[0].value[1]);
}

describe('a real Prometheus scraping `pollscope run` on a tokio relay log', () => {
  let daemonUrl = '';

  beforeAll(async () => {
    await receiver.start();
    // The relay writes the fixture at the pace of its timestamps (~8.5 s).
    ({ daemonUrl, prometheus } = await scrapedWhileWritten({
      dir: tmp,
      relay: RELAY,
      src: FIXTURE,
      lines: LINES,
      runArgs: ['--otlp-endpoint', receiver.url],
      children,
    }));
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
    await waitForAnswer('the receiver to hold the exemplars’ spans', () => {
      const got = new Set(receiver.spans.map((s) => `${s.traceId}/${s.spanId}`));
      return connExemplars.every((m) => got.has(`${m[2]}/${m[3]}`));
    });
    const named = receiver.spans.filter((s) => connExemplars.some((m) => m[2] === s.traceId && m[3] === s.spanId));
    // Each exemplar's span is that poll: its duration is the exemplar's value.
    for (const m of connExemplars) {
      const span = named.find((s) => s.traceId === m[2] && s.spanId === m[3])!;
      expect(span).toBeDefined();
      expect(Math.abs(Number(span.end - span.start) / 1e9 - Number(m[4]))).toBeLessThan(2e-6);
    }
    const res = await fetch(
      `${prometheus.url}/api/v1/query_exemplars?query=${encodeURIComponent(`relay_libp2p_poll_duration_seconds_bucket{relay="${RELAY}"}`)}&start=0&end=${Date.now() / 1000 + 60}`,
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
