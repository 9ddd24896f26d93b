/**
 * `--jobs 2` (a parse worker thread feeding the main thread) gives what `--jobs 1` gives: the
 * same report, the same observation stream in the same order (what metrics and trace ids are
 * computed from), the same metric values, on every fixture in the repository, with the size
 * threshold forced to 0 so even the smallest file goes through the worker in several batches.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PollscopeMetrics } from '../src/export/metrics.js';
import type { ObservationSink } from '../src/reactor/observations.js';
import { replay, type ReplayResult } from '../src/replay.js';
import { ROOT } from './helpers.js';

const FIXTURE_DIRS = ['samples', 'test/real-relay/fixtures', 'test/real-relay-tokio/fixtures', 'test/fixtures'];
const fixtures = FIXTURE_DIRS.flatMap((d) => {
  try {
    return readdirSync(path.join(ROOT, d), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.log'))
      .map((f) => path.join(ROOT, d, f));
  } catch {
    return []; // test/fixtures may not exist yet
  }
});

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-parallel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every observation, in order, as JSON lines. */
function recorder(): { sink: ObservationSink; lines: string[] } {
  const lines: string[] = [];
  const rec =
    (kind: string) =>
    (o: unknown): void => {
      lines.push(kind + ' ' + JSON.stringify(o));
    };
  return {
    lines,
    sink: {
      wait: rec('wait'),
      pollCycle: rec('pollCycle'),
      wakeToPoll: rec('wakeToPoll'),
      stall: rec('stall'),
      unfinished: rec('unfinished'),
    },
  };
}

async function run(
  files: string[],
  jobs: number,
): Promise<{ report: ReplayResult; observations: string[]; metrics: string }> {
  const obs = recorder();
  const metrics = new PollscopeMetrics();
  const relayMetrics = metrics.forRelay('replay');
  const report = await replay(files, {
    jobs,
    parallelMinBytes: 0,
    sinks: [obs.sink, relayMetrics],
    onPipeline: (pipeline) => relayMetrics.attach(pipeline),
  });
  metrics.attachSource({ bytesRead: report.run.bytes, rotations: 0, truncations: 0 });
  return { report, observations: obs.lines, metrics: await metrics.renderStamped(0) };
}

const withoutTiming = (r: ReplayResult) => ({ ...r, run: { ...r.run, elapsedMs: 0, linesPerSec: 0, maxRssBytes: 0 } });

describe('replay --jobs 2 equals --jobs 1', () => {
  it('finds the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of fixtures) {
    it(path.relative(ROOT, file), async () => {
      const one = await run([file], 1);
      const two = await run([file], 2);
      expect(withoutTiming(two.report)).toEqual(withoutTiming(one.report));
      expect(two.observations).toEqual(one.observations);
      expect(two.metrics).toEqual(one.metrics);
      expect(one.report.run.lines).toBeGreaterThan(0);
    });
  }

  it('several files (plain, gzip, a plain file given twice) in one run: state carries across, same results', async () => {
    const files = fixtures.filter((f) => f.includes('env-micros') || f.includes('relay-stall'));
    const gz = path.join(tmp, 'stall.log.gz');
    writeFileSync(gz, execFileSync('gzip', ['-c', files[0]]));
    const all = [...files, gz, files[0]];
    const one = await run(all, 1);
    const two = await run(all, 2);
    expect(withoutTiming(two.report)).toEqual(withoutTiming(one.report));
    expect(two.observations).toEqual(one.observations);
    expect(two.metrics).toEqual(one.metrics);
    expect(one.observations.filter((o) => o.startsWith('stall ')).length).toBeGreaterThan(5);
  });

  it('a truncated .gz read by the worker: the same lines counted and the same input error', async () => {
    const src = path.join(ROOT, 'test/real-relay/fixtures/mixed.env-micros.log');
    const gz = execFileSync('gzip', ['-c', src]);
    const truncated = path.join(tmp, 'truncated.gz');
    writeFileSync(truncated, gz.subarray(0, Math.floor(gz.length / 2)));
    const one = await run([truncated, src], 1);
    const two = await run([truncated, src], 2);
    expect(one.report.inputErrors).toHaveLength(1);
    expect(two.report.inputErrors).toEqual(one.report.inputErrors);
    expect(withoutTiming(two.report)).toEqual(withoutTiming(one.report));
    expect(two.observations).toEqual(one.observations);
  });

  it('oversize, malformed, invalid UTF-8 and continuation lines cross batch boundaries unchanged', async () => {
    // > 8192 records so the worker sends several batches; every odd kind of line in between.
    const base = readFileSync(path.join(ROOT, 'samples/relay-stall.log'), 'utf8').split('\n');
    const out: Buffer[] = [];
    for (let i = 0; i < 4; i++)
      for (let k = 0; k < base.length - 1; k++) {
        out.push(Buffer.from(base[k] + '\n'));
        if (k % 997 === 0) out.push(Buffer.from('x'.repeat(3000) + '\n')); // oversize at 2000
        if (k % 701 === 0) out.push(Buffer.from('  continuation of the record above: 日本語 µs\n'));
        if (k % 1301 === 0) out.push(Buffer.from([0x62, 0xff, 0xfe, 0x0a]));
      }
    const file = path.join(tmp, 'odd.log');
    writeFileSync(file, Buffer.concat(out));
    const opts = (jobs: number) => ({ jobs, parallelMinBytes: 0, maxLineBytes: 2000 });
    const one = await replay([file], opts(1));
    const two = await replay([file], opts(2));
    expect(withoutTiming(two)).toEqual(withoutTiming(one));
    expect(one.lines.oversize).toBeGreaterThan(8);
    expect(one.problems.length).toBeGreaterThan(0);
  });

  it('raw (µ) tracing lines sliced from the batch bytes across pieces and 1 MiB batches: same results', async () => {
    // ~3 MB of the tokio Full fixture (nearly every line a raw µ line whose message the main
    // thread slices from the shipped file bytes), with odd lines in between that go as text.
    const base = readFileSync(path.join(ROOT, 'test/real-relay-tokio/fixtures/stalls.full.log'), 'utf8').split('\n');
    const out: Buffer[] = [];
    for (let i = 0; i < 3; i++)
      for (let k = 0; k < base.length - 1; k++) {
        out.push(Buffer.from(base[k] + '\n'));
        if (k % 499 === 0) out.push(Buffer.from('  at wörker.rs:12 (continuation, 1.5µs)\n'));
        if (k % 1009 === 0) out.push(Buffer.from('\x1b[2m' + base[k] + '\x1b[0m\n')); // ANSI: text path
        if (k % 1303 === 0) out.push(Buffer.from([0x62, 0xff, 0xfe, 0x0a]));
      }
    const file = path.join(tmp, 'raw.log');
    writeFileSync(file, Buffer.concat(out));
    const opts = (jobs: number) => ({ jobs, parallelMinBytes: 0 });
    const one = await replay([file], opts(1));
    const two = await replay([file], opts(2));
    expect(withoutTiming(two)).toEqual(withoutTiming(one));
    expect(one.run.bytes).toBeGreaterThan(2.5e6);
    expect(one.pollCycles.count).toBeGreaterThan(0);
  });

  it('the CLI: --jobs 2 on a file over the 8 MiB threshold prints what --jobs 1 prints; --jobs 0 is a usage error', async () => {
    // The real-relay µs fixture over and over (each copy a clock jump back): ~9.5 MB.
    const piece = readFileSync(path.join(ROOT, 'test/real-relay/fixtures/mixed.env-micros.log'));
    const copies = Math.ceil((9.5 * 1024 * 1024) / piece.length);
    const big = path.join(tmp, 'big.log');
    writeFileSync(big, Buffer.concat(Array.from({ length: copies }, () => piece)));
    const cli = path.join(ROOT, 'dist/cli.js');
    const run = promisify(execFile);
    const out = async (jobs: string) =>
      JSON.parse(
        (await run(process.execPath, [cli, 'replay', '--json', '--jobs', jobs, big], { maxBuffer: 1 << 26 })).stdout,
      ) as ReplayResult;
    const [one, two] = [await out('1'), await out('2')];
    expect(withoutTiming(two)).toEqual(withoutTiming(one));
    expect(one.run.lines).toBe(copies * (piece.toString('latin1').split('\n').length - 1));
    const bad = await run(process.execPath, [cli, 'replay', '--jobs', '0', big]).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(bad).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--jobs: '0' is not a whole number greater than 0") as unknown,
    });
  });
});
