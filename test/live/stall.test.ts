/**
 * Live stall detection against the real CLI: a relay stand-in (replayer.mjs, its own process)
 * writes the bundled sample's lines stamped with its clock as it writes them, then goes silent
 * right after a wake. The daemon must report the stall while it happens and its end when the
 * writer resumes, and must not fake one for a relay whose clock differs from ours or whose
 * logger writes in late bursts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RelayPipeline } from '../../src/pipeline.js';
import { LineSplitter } from '../../src/source/file-lines.js';
import { ROOT } from '../helpers.js';
import { killAll, requireBuild, runDaemon, stopDaemon, tempDir } from './support.js';

const SAMPLE = path.join(ROOT, 'samples', 'relay-stall.log');
const REPLAYER = path.join(ROOT, 'test', 'live', 'replayer.mjs');
/** Line 144 of the sample: `wait: running epoll_fd=4, events.len=1` — epoll_wait returned (a wake). */
const WAKE_LINE = 144;

beforeAll(requireBuild);
let cleanup: (() => void) | null = null;
afterEach(() => {
  killAll();
  cleanup?.();
  cleanup = null;
});

interface ReplayerEvent {
  event: string;
  at: number;
  line?: number;
}

function replay(o: Record<string, unknown>): Promise<ReplayerEvent[]> {
  const child = spawn(process.execPath, [REPLAYER, JSON.stringify({ sample: SAMPLE, ...o })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`replayer exited ${code}`));
      else
        resolve(
          out
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as ReplayerEvent),
        );
    }),
  );
}

/** What replay's model says the reactor is stuck in after the sample's first n lines (the kind the daemon must report). */
function kindAfter(n: number): string {
  const pipeline = new RelayPipeline('x', []);
  const asm = pipeline.openFile(SAMPLE, new Date());
  const splitter = new LineSplitter(asm, 1 << 20);
  splitter.push(Buffer.from(readFileSync(SAMPLE, 'utf8').split('\n').slice(0, n).join('\n') + '\n'));
  asm.flush();
  const stuck = pipeline.model.stuckSince();
  if (stuck === null) throw new Error('the model is not stuck after the wake line');
  return { polling: 'blocked_poll', readiness_pending: 'starved', running: 'silent' }[stuck.state];
}

describe('pollscope run: live stalls', () => {
  it('a wake, then 2 s of silence from a relay whose clock is 3 h behind ours: reported within 1.5 s, ended on resume', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const log = path.join(t.dir, 'relay.log');
    writeFileSync(log, '');
    const kind = kindAfter(WAKE_LINE);
    const d = await runDaemon(['--log', log, '--checkpoint', path.join(t.dir, 'cp.json')], t.dir);
    const events = await replay({
      out: log,
      from: 1,
      to: 260,
      rate: 1000,
      skewMs: -3 * 3600_000,
      pauseAfter: WAKE_LINE,
      pauseMs: 2000,
    });
    const paused = events.find((e) => e.event === 'paused')!;
    const resumed = events.find((e) => e.event === 'resumed')!;
    expect(paused.line).toBe(WAKE_LINE);
    const started = await d.waitForLine(new RegExp(`stall started: ${kind} `));
    const ended = await d.waitForLine(new RegExp(`stall ended: ${kind} `));
    expect(await stopDaemon(d)).toBe(0);
    // Raised while the relay was silent, within 1.5 s of the stall's start (the wake was written at `paused`).
    expect(started.at - paused.at).toBeGreaterThanOrEqual(900);
    expect(started.at - paused.at).toBeLessThanOrEqual(1500);
    expect(started.at).toBeLessThan(resumed.at);
    expect(ended.at).toBeGreaterThanOrEqual(resumed.at);
    expect(ended.at - resumed.at).toBeLessThan(1000);
    // The closing observation is the model's: 2 s of log time (the writer stamped its lines across the pause).
    const secs = Number(/stall ended: \w+ ([\d.]+)s/.exec(ended.text)?.[1]);
    expect(secs).toBeGreaterThan(1.95);
    expect(secs).toBeLessThan(2.6);
    // Nothing else was raised live: the 3 h clock difference did not look like a stall. (The model may
    // also report, from the log, the starved interval the wait's end revealed: replay reports it too.)
    expect(d.lines.filter((l) => /stall (started|ended|cleared)/.test(l.text)).map((l) => l.text)).toEqual([
      started.text,
      ended.text,
    ]);
  });

  it('a logger that writes in late bursts (lines stamped up to 1.3 s before they reach the file) fakes no stall', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const log = path.join(t.dir, 'relay.log');
    writeFileSync(log, '');
    const d = await runDaemon(['--log', log, '--checkpoint', path.join(t.dir, 'cp.json')], t.dir);
    await replay({ out: log, from: 1, to: 900, rate: 300, burstMs: 1300 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await stopDaemon(d)).toBe(0);
    expect(d.lines.filter((l) => /stall (started|ended|cleared)/.test(l.text)).map((l) => l.text)).toEqual([]);
  });
});
