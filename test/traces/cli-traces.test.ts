/**
 * `pollscope replay --otlp-endpoint` as a user runs it (needs `npm run build`): the stalls' trace
 * ids and Jaeger links in the report are those of traces the collector received.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { CLI, ROOT, WAIT_MS, exitOf, startPollscopeRun, stopChild, waitForOutput } from '../helpers.js';

const run = promisify(execFile);
const SAMPLE = path.join(ROOT, 'samples/relay-stall.log');
const receiver = new OtlpReceiver();
const children: ChildProcess[] = [];

beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  for (const c of children) await stopChild(c);
  await receiver.stop();
}, 2 * WAIT_MS);

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

it('prints each stall with its trace id and Jaeger link, and the log time range to search', async () => {
  const r = await cli([
    'replay',
    SAMPLE,
    '--otlp-endpoint',
    receiver.url,
    '--jaeger-ui',
    'http://127.0.0.1:16686/',
    '--relay',
    'cli-relay',
  ]);
  expect(r.code).toBe(0);
  const lines = r.stdout.split('\n');
  const stallLines = lines.filter((l) =>
    /^\s+(blocked_poll|slow_poll|starved|silent)\s+\S+Z\s+trace [0-9a-f]{32}/.test(l),
  );
  expect(stallLines).toHaveLength(4);
  const received = receiver.spans.filter((s) => s.service === 'cli-relay');
  for (const l of stallLines) {
    const [, kind, id, link] = /^\s+(\S+)\s+\S+\s+trace ([0-9a-f]{32})\s+(\S+)$/.exec(l)!;
    expect(link).toBe(`http://127.0.0.1:16686/trace/${id}`);
    const root = received.find((s) => s.traceId === id && s.name === 'reactor.turn');
    expect(root, `${kind} trace ${id} was exported`).toBeDefined();
  }
  expect(r.stdout).toContain("set Jaeger's search time range to 2022-04-21T22:30:01");
  // The default sampling keeps the stall turns and about 1 % of the others (54 turns here).
  const m = /(\d+) turns kept, (\d+) dropped; (\d+) spans exported/.exec(r.stdout)!;
  expect(Number(m[3])).toBe(received.length);
  expect(Number(m[1])).toBeGreaterThanOrEqual(4);
  expect(Number(m[1])).toBeLessThan(10);
});

it('--json carries the same under "traces"; OTEL_EXPORTER_OTLP_ENDPOINT alone turns traces on', async () => {
  const r = await cli(['replay', SAMPLE, '--json', '--relay', 'cli-env'], {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  });
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as {
    traces: { stalls: Array<{ kind: string; traceId: string }>; spansExported: number; endpoint: string };
  };
  expect(report.traces.stalls.map((s) => s.kind).sort()).toEqual(['blocked_poll', 'silent', 'slow_poll', 'starved']);
  expect(report.traces.endpoint).toBe(receiver.url);
  const received = receiver.spans.filter((s) => s.service === 'cli-env');
  expect(report.traces.spansExported).toBe(received.length);
  for (const s of report.traces.stalls) expect(received.some((x) => x.traceId === s.traceId)).toBe(true);
});

it('without an endpoint there is no traces section, and --jaeger-ui alone is a usage error', async () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' };
  const plain = await cli(['replay', SAMPLE], env);
  expect(plain.code).toBe(0);
  expect(plain.stdout).not.toContain('Traces (OTLP');
  const bad = await cli(['replay', SAMPLE, '--jaeger-ui', 'http://127.0.0.1:16686'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--jaeger-ui needs --otlp-endpoint');
});

it(
  'run --otlp-endpoint: the live daemon exports the same traces, same ids, as replay of that log',
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pollscope-run-traces-'));
    const log = path.join(dir, 'relay.log');
    copyFileSync(SAMPLE, log);
    const daemon = startPollscopeRun(
      {
        log,
        relay: 'live-relay',
        checkpoint: path.join(dir, 'cp.json'),
        args: ['--metrics-listen', 'off', '--otlp-endpoint', receiver.url, '--trace-sample', '1'],
        cwd: ROOT,
      },
      children,
    );
    const child = daemon.child;
    try {
      // The silence is the last stall of the sample: once it is reported the whole file went through.
      await waitForOutput(child, daemon.stderr, (t) => t.includes('silent'), 'the silent stall to be reported');
      const exited = exitOf(child);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const live = receiver.spans.filter((s) => s.service === 'live-relay');
      const r = await cli([
        'replay',
        log,
        '--relay',
        'live-relay',
        '--trace-sample',
        '1',
        '--otlp-endpoint',
        receiver.url,
      ]);
      expect(r.code).toBe(0);
      const replayed = receiver.spans.filter((s) => s.service === 'live-relay').slice(live.length);
      const key = (s: ReceivedSpan) => `${s.name} ${s.traceId} ${s.spanId} ${s.start} ${s.end}`;
      expect(live.length).toBeGreaterThan(100);
      expect(new Set(live.map(key))).toEqual(new Set(replayed.map(key)));
    } finally {
      await stopChild(child); // already stopped unless the test failed before
      rmSync(dir, { recursive: true, force: true });
    }
  },
  3 * WAIT_MS,
); // the daemon reading the sample, its drain on SIGTERM, the replay

it('replay --metrics-out with traces: every exemplar points at an exported trace; the span counters are there', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pollscope-exemplars-'));
  try {
    const out = path.join(dir, 'metrics.txt');
    const r = await cli([
      'replay',
      SAMPLE,
      '--relay',
      'cli-exemplars',
      '--otlp-endpoint',
      receiver.url,
      '--metrics-out',
      out,
      '--trace-sample',
      '0.2',
    ]);
    expect(r.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    const exported = new Set(
      receiver.spans.filter((s) => s.service === 'cli-exemplars').map((s) => `${s.traceId}/${s.spanId}`),
    );
    const exemplars = [...text.matchAll(/# \{traceId="([0-9a-f]{32})",spanId="([0-9a-f]{16})"\}/g)].map(
      (m) => `${m[1]}/${m[2]}`,
    );
    expect(exemplars.length).toBeGreaterThan(5);
    for (const e of exemplars) expect(exported.has(e), e).toBe(true);
    const total = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
    expect(total('pollscope_spans_exported_total')).toBe(exported.size);
    expect(Number(/^pollscope_spans_dropped_total\{reason="sampled_out"\} (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
