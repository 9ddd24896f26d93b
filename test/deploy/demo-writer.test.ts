/**
 * The compose demo profile's log writer (deploy/demo/write-demo-log.mjs), run for real: it must
 * write the bundled sample paced by the sample's own timestamps, with the timestamps moved to
 * the present (every interval kept to the microsecond), loop with fresh timestamps, rotate by
 * rename, and stop cleanly on SIGTERM (it is PID 1 in its container).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  CLI,
  WAIT_MS,
  exitOf,
  freePort,
  hasExited,
  killLeft,
  startChild,
  startPollscopeRun,
  waitFor,
  waitForOutput,
} from '../helpers.js';
import { repo, tool } from './support.js';

const WRITER = repo('deploy/demo/write-demo-log.mjs');
const SAMPLE = repo('samples/relay-stall.log');
const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sampleLines = readFileSync(SAMPLE, 'utf8')
  .split('\n')
  .filter((l, i, a) => !(l === '' && i === a.length - 1));
const STAMP = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})(\d{3})Z /;

/** µs since the epoch of an env_logger micros line, or undefined for a continuation line. */
function stampUs(line: string): number | undefined {
  const m = STAMP.exec(line);
  return m ? Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]) : undefined;
}
const tail = (line: string) => (STAMP.test(line) ? line.slice(28) : line);
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').slice(0, -1); // complete lines only
const wallUs = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);

/** Per sample line: µs after the first timestamp at which it is due (file order kept). */
function dueOffsets(sample: string[]): number[] {
  const first = stampUs(sample[0])!;
  let latest = first;
  return sample.map((l) => {
    latest = Math.max(latest, stampUs(l) ?? latest);
    return latest - first;
  });
}

const children: ChildProcess[] = [];
afterEach(() => killLeft(children));

/** The writer with `args`; `stdout()` is all it printed, on stdout and stderr (its messages and errors). */
function startWriter(args: string[]): {
  child: ChildProcess;
  exit: () => Promise<number | null>;
  stdout: () => string;
} {
  const w = startChild(process.execPath, [WRITER, ...args], children);
  return { child: w.child, exit: () => exitOf(w.child), stdout: w.output };
}

describe('deploy/demo/write-demo-log.mjs', () => {
  it(
    'writes the sample in real time, paced by its timestamps, moved to now with every interval kept',
    async () => {
      const out = path.join(tmp, 'paced.log');
      const started = wallUs();
      const w = startWriter(['--sample', SAMPLE, '--out', out]);
      const due = dueOffsets(sampleLines);
      // The sample's first silence of over a second (3.44 s in, 1.8 s long), found from its timestamps.
      const gapAfter = due.findIndex((d, i) => i > 0 && d - due[i - 1] > 1_000_000) - 1;
      expect(gapAfter).toBeGreaterThan(50);
      // Look at the file every 20 ms while it is written, until the lines after the gap come (or the
      // writer is far past it), each look dated by the wall clock after reading it.
      const looks: { toUs: number; count: number }[] = [];
      await waitFor(
        'the writer to write past the blocked poll',
        () => {
          const count = existsSync(out) ? lines(out).length : 0;
          looks.push({ toUs: wallUs(), count });
          return count > gapAfter + 1 || hasExited(w.child);
        },
        { intervalMs: 20 },
      );
      process.kill(w.child.pid!, 'SIGTERM');
      expect(await exitOf(w.child), w.stdout()).toBe(0);

      const written = lines(out);
      const firstUs = stampUs(written[0])!;
      // The first line is stamped when the writer started (it starts at once; a loaded machine may
      // take a few seconds to start a process, never less than nothing).
      expect(firstUs).toBeGreaterThanOrEqual(started);
      expect(firstUs - started).toBeLessThan(WAIT_MS * 1000);
      // Same lines in the same order; each timestamp shifted by exactly the same amount.
      const shift = firstUs - stampUs(sampleLines[0])!;
      written.forEach((line, i) => {
        expect(tail(line), `line ${i + 1}`).toBe(tail(sampleLines[i]));
        const s = stampUs(sampleLines[i]);
        if (s !== undefined) expect(stampUs(line)! - s, `line ${i + 1}`).toBe(shift);
        else expect(stampUs(line)).toBeUndefined();
      });
      // Paced: at no look was a line there before it was due (5 ms of clock slack). Lateness is what
      // a loaded machine causes, so it is not checked per look: the gap check below shows pacing.
      const dueBy = (t: number) => due.filter((d) => d <= t).length;
      for (const { toUs, count } of looks) {
        const elapsed = toUs - firstUs;
        expect(count, `lines at ${elapsed} µs`).toBeLessThanOrEqual(dueBy(elapsed + 5_000));
      }
      // The silence was really waited out: some look saw the file stop exactly at the gap (and no
      // look saw a line before it was due, above).
      expect(looks.some((l) => l.count === gapAfter + 1)).toBe(true);
      expect(looks.at(-1)!.count).toBeGreaterThan(gapAfter + 1);
    },
    2 * WAIT_MS,
  );

  it(
    'loops with fresh timestamps, each loop starting --gap after the previous one ended',
    async () => {
      // The sample's first 70 lines: 197.6 ms of log with a 194 ms epoll wait in it.
      const small = path.join(tmp, 'small-sample.log');
      const sample = sampleLines.slice(0, 70);
      writeFileSync(small, sample.join('\n') + '\n');
      const durationUs = Math.max(...sample.map((l) => stampUs(l) ?? 0)) - stampUs(sample[0])!;
      const out = path.join(tmp, 'loops.log');
      const w = startWriter(['--sample', small, '--out', out, '--gap', '300ms', '--loops', '3']);
      expect(await w.exit(), w.stdout()).toBe(0);
      expect(w.stdout().trim().split('\n')).toHaveLength(3);

      const written = lines(out);
      expect(written).toHaveLength(3 * 70);
      const starts = [0, 1, 2].map((k) => stampUs(written[k * 70])!);
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < 70; i++) expect(tail(written[k * 70 + i])).toBe(tail(sample[i]));
      }
      expect(starts[1] - starts[0]).toBe(durationUs + 300_000);
      expect(starts[2] - starts[1]).toBe(durationUs + 300_000);

      // pollscope reads the result as a relay log: every line recognised, none malformed.
      const cli = repo('dist/cli.js');
      if (existsSync(cli)) {
        const r = tool(process.execPath, [cli, 'replay', '--json', out]);
        expect(r.status, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout);
        expect(report.lines.malformed).toBe(0);
        expect(report.lines.decoded + report.lines.ignored).toBe(210);
      }
    },
    2 * WAIT_MS,
  ); // the writer's exit (up to WAIT_MS) and a replay

  it(
    'rotates by rename when the file reaches --rotate-bytes, and appends to an existing file',
    async () => {
      const small = path.join(tmp, 'rot-sample.log');
      const sample = sampleLines.slice(0, 70);
      writeFileSync(small, sample.join('\n') + '\n');
      const out = path.join(tmp, 'rot.log');
      writeFileSync(out, 'an older line\n');
      const w = startWriter([
        '--sample',
        small,
        '--out',
        out,
        '--gap',
        '50ms',
        '--loops',
        '2',
        '--rotate-bytes',
        '10000',
      ]);
      expect(await w.exit(), w.stdout()).toBe(0);
      const rotated = lines(`${out}.1`);
      const current = lines(out);
      expect(rotated[0]).toBe('an older line');
      expect(readFileSync(`${out}.1`).length).toBeGreaterThanOrEqual(10_000);
      const all = [...rotated.slice(1), ...current].map(tail);
      expect(all).toEqual([...sample, ...sample].map(tail));
    },
    2 * WAIT_MS,
  );

  it(
    "pollscope run following its output sees the sample's blocked poll live, as the demo stack would",
    async () => {
      expect(existsSync(CLI), 'npm run build first').toBe(true);
      const out = path.join(tmp, 'live.log');
      const port = await freePort();
      const w = startWriter(['--sample', SAMPLE, '--out', out]);
      const daemon = startPollscopeRun(
        {
          log: out,
          relay: 'demo',
          checkpoint: path.join(tmp, 'live-checkpoint.json'),
          args: ['--metrics-listen', `127.0.0.1:${port}`],
        },
        children,
      );
      const run = daemon.child;
      const stderr = daemon.stderr;
      const metric = (text: string, series: string) =>
        Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      let activeSeen = 0;
      let blocked = 0;
      const look = async (): Promise<void> => {
        try {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          activeSeen = Math.max(activeSeen, metric(text, 'relay_poll_stall_active_seconds{relay="demo"}') || 0);
          blocked = metric(text, 'relay_poll_stalls_total{relay="demo",kind="blocked_poll"}') || 0;
        } catch {
          /* not listening yet */
        }
      };
      // The sample's blocked poll starts 1.38 s in and lasts 1.5 s; the watchdog raises it after 1 s
      // without progress, so it is live for ~0.5 s: look at the gauge the moment run says it started
      // (an error is kept for later, so that it is not an unhandled rejection meanwhile).
      const raised = waitForOutput(run, stderr, (t) => t.includes('stall started: blocked_poll'), 'the live stall')
        .then(look)
        .catch((err: unknown) => err);
      await waitFor(
        'the blocked poll to be counted',
        async () => {
          await look();
          return blocked >= 1;
        },
        { detail: stderr },
      );
      const raisedError = await raised;
      if (raisedError instanceof Error) throw raisedError;
      expect(raisedError).toBeUndefined();
      const runExit = exitOf(run);
      process.kill(run.pid!, 'SIGTERM');
      process.kill(w.child.pid!, 'SIGTERM');
      expect(await exitOf(w.child)).toBe(0);
      await runExit;
      expect(blocked, stderr()).toBe(1);
      // run prints live stalls on stderr: raised while going on, closed with the sample's length.
      expect(stderr()).toMatch(/stall started: blocked_poll/);
      expect(stderr()).toContain('blocked_poll 1.503924s');
      // Seen while it was going on (the watchdog raises it after 1 s without progress).
      expect(activeSeen).toBeGreaterThan(0.9);
      expect(activeSeen).toBeLessThan(1.6);
    },
    4 * WAIT_MS,
  ); // the stall counted, then two exits

  it(
    'refuses a sample without timestamps',
    async () => {
      const bad = path.join(tmp, 'bad.log');
      writeFileSync(bad, ' a continuation line first\n');
      const w = startWriter(['--sample', bad, '--out', path.join(tmp, 'bad-out.log')]);
      expect(await w.exit()).toBe(1);
      expect(w.stdout()).toContain('does not start with a timestamped line');
    },
    2 * WAIT_MS,
  );
});
