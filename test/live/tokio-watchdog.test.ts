/**
 * The live watchdog on a span-based (tokio, rust-libp2p ≥ 0.53) relay: `pollscope run` follows
 * the tokio ground-truth fixtures written at the pace of their own timestamps (pace-writer.mjs,
 * its own process). Two subscribers, the same induced 1.5 s blocked `Swarm::poll`:
 * - FmtSpan::FULL (stalls.full-threads-ansi.log: `new`/`enter`/`exit`/`close`, thread names,
 *   ANSI): the span's `new` line is a poll start, so the blocked poll is raised live while the
 *   relay is still inside it (before its close line is written), from the poll's real start;
 * - FmtSpan::CLOSE only (stalls.full.log): no line shows the span until it closes, so nothing can
 *   be raised live; the blocked poll is reported from the close line, after the fact.
 * In both, the executor block (1.2 s with no span open, nothing logged) is not raised: without
 * reactor lines an idle executor and a blocked one look the same (docs/live.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';
import { killAll, requireBuild, runDaemon, stopDaemon, tempDir, waitUntil, type DaemonProc } from './support.js';

const FIXTURES = path.join(ROOT, 'test/real-relay-tokio/fixtures');
const PACE_WRITER = path.join(ROOT, 'test/metrics/pace-writer.mjs');
const BLOCKED_POLL_MS = 300; // the poll blocks 1.5 s: raised ~1.2 s before it ends

interface Truth {
  events: Array<{ kind: string; start_us: number; end_us: number; duration_us: number }>;
}
const truthOf = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.truth.json`), 'utf8')) as Truth;
const iso = (us: number) =>
  new Date(Math.floor(us / 1000)).toISOString().slice(0, 19) + `.${String(us % 1e6).padStart(6, '0')}Z`;
/** Log time (µs) of a line of these fixtures (`2026-…Z`, maybe dimmed by ANSI), null for none. */
function lineUs(line: string): number | null {
  // eslint-disable-next-line no-control-regex -- ANSI's ESC is what dims the timestamp
  const m = /^(?:\x1b\[2m)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z/.exec(line);
  return m ? Date.parse(`${m[1]}Z`) * 1000 + Number(m[2]) : null;
}

beforeAll(requireBuild);
let cleanup: (() => void) | null = null;
const writers: ChildProcess[] = [];
afterEach(() => {
  killAll();
  // The writers end by themselves; after a failure they are stopped here, by pid.
  for (const w of writers.splice(0))
    if (w.exitCode === null && w.signalCode === null && w.pid !== undefined) process.kill(w.pid, 'SIGKILL');
  cleanup?.();
  cleanup = null;
});

/** Follows `name` written at its pace; resolves with the daemon's stderr once it read every line. */
async function follow(dir: string, name: string): Promise<{ d: DaemonProc; log: string; lines: number }> {
  const src = path.join(FIXTURES, `${name}.log`);
  const lines = readFileSync(src, 'utf8')
    .split('\n')
    .filter((l) => l !== '').length;
  const log = path.join(dir, `${name}.log`);
  writeFileSync(log, '');
  const d = await runDaemon(
    [
      '--log',
      log,
      '--from',
      'start',
      '--relay',
      name,
      '--checkpoint',
      path.join(dir, `${name}.cp.json`),
      '--blocked-poll',
      `${BLOCKED_POLL_MS}ms`,
    ],
    dir,
  );
  writers.push(
    spawn(process.execPath, [PACE_WRITER, JSON.stringify({ src, dst: log, lines, speed: 1 })], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  return { d, log, lines };
}

describe('pollscope run: the watchdog on a tokio relay log', () => {
  it('FmtSpan::FULL shows the blocked Swarm::poll live; FmtSpan::CLOSE only after it closed; the executor block neither', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    // Both written at once (~8.5 s of log each): the test takes about as long as one.
    const full = await follow(t.dir, 'stalls.full-threads-ansi');
    const close = await follow(t.dir, 'stalls.full');

    // FULL: raised live, from the poll's `new` line, while its close line is not yet written.
    const fullTruth = truthOf('stalls.full-threads-ansi').events.find((e) => e.kind === 'blocked_swarm_poll')!;
    const started = await full.d.waitForLine(/stall started: blocked_poll /, 30_000);
    const written = readFileSync(full.log, 'utf8').split('\n');
    const lastWritten = written.reduce<number | null>((a, l) => lineUs(l) ?? a, null)!;
    expect(lastWritten).toBeLessThan(fullTruth.end_us);
    expect(started.text).toContain(`since ${iso(fullTruth.start_us)} `);
    const ended = await full.d.waitForLine(/stall ended: blocked_poll /, 30_000);
    const secs = Number(/stall ended: blocked_poll ([\d.]+)s/.exec(ended.text)![1]);
    expect(Math.abs(secs * 1e6 - fullTruth.duration_us)).toBeLessThan(fullTruth.duration_us * 0.02);

    // CLOSE only: reported from the close line, never raised before it.
    const closeTruth = truthOf('stalls.full').events.find((e) => e.kind === 'blocked_swarm_poll')!;
    const inLog = await close.d.waitForLine(/stall in log: blocked_poll /, 30_000);
    const from = /from (\S+) to/.exec(inLog.text)![1];
    expect(Math.abs(Date.parse(from) * 1000 + Number(from.slice(23, 26)) - closeTruth.start_us)).toBeLessThan(1000);

    // Every line read (the writers are done, the executor block is behind them): nothing else raised.
    for (const f of [full, close]) {
      await waitUntil(
        () =>
          readFileSync(f.log, 'utf8')
            .split('\n')
            .filter((l) => l !== '').length === f.lines,
        30_000,
        `the writer of ${f.log}`,
      );
    }
    // The last lines of both fixtures are a second past the executor block: a watchdog that would
    // raise it had its chance while the writers were silent.
    expect(await stopDaemon(full.d)).toBe(0);
    expect(await stopDaemon(close.d)).toBe(0);
    expect(full.d.lines.filter((l) => /stall (started|ended|in log|cleared)/.test(l.text)).map((l) => l.text)).toEqual([
      started.text,
      ended.text,
    ]);
    expect(close.d.lines.filter((l) => /stall (started|ended|in log|cleared)/.test(l.text)).map((l) => l.text)).toEqual(
      [inLog.text],
    );
  }, 90_000);
});
