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
import { replay as replayFiles } from '../../src/replay.js';
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

  it('starved is raised live: readiness logged, the reactor back in epoll_wait, no poll for 2 s', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const log = path.join(t.dir, 'relay.log');
    writeFileSync(log, '');
    // Sample lines 1700..2000: swarm polls, then at 1936 epoll reports I/O readiness (keys 2 and 3),
    // async-io goes back into epoll_wait (1949: `wait: waiting … timeout=Some(7.625813471s)`), and
    // the next swarm poll start is line 1970. The writer stops right after 1949.
    const from = 1700;
    const waitingLine = 1949;
    expect(kindAfter(waitingLine)).toBe('starved');
    const d = await runDaemon(
      ['--log', log, '--checkpoint', path.join(t.dir, 'cp.json'), '--metrics-listen', '127.0.0.1:0'],
      t.dir,
    );
    const url = /metrics on (http:\/\/\S+)\/metrics/.exec((await d.waitForLine(/metrics on http/)).text)![1];
    const writer = replay({
      out: log,
      from,
      to: 2000,
      rate: 1000,
      pauseAfter: waitingLine - from + 1,
      pauseMs: 3000,
    });
    const started = await d.waitForLine(/stall started: starved /, 10_000);
    // While it lasts, the metrics endpoint shows it too.
    const body = await (await fetch(`${url}/metrics`)).text();
    const gauge = Number(/^relay_poll_stall_active_seconds\{relay="relay"\} (\S+)$/m.exec(body)?.[1]);
    const events = await writer;
    const paused = events.find((e) => e.event === 'paused')!;
    const resumed = events.find((e) => e.event === 'resumed')!;
    expect(paused.line).toBe(waitingLine);
    expect(started.at).toBeGreaterThan(paused.at);
    expect(started.at).toBeLessThan(resumed.at);
    expect(gauge).toBeGreaterThanOrEqual(1);
    const ended = await d.waitForLine(/stall ended: starved /);
    expect(ended.at).toBeGreaterThanOrEqual(resumed.at);
    expect(await stopDaemon(d)).toBe(0);
    // The closing stall is the model's (3 s of log time across the pause), reported once.
    const secs = Number(/stall ended: starved ([\d.]+)s/.exec(ended.text)?.[1]);
    expect(secs).toBeGreaterThan(2.9);
    expect(secs).toBeLessThan(4);
    expect(d.lines.filter((l) => /stall (started|ended|cleared|in log)/.test(l.text)).map((l) => l.text)).toEqual([
      started.text,
      ended.text,
    ]);
    // Replay of the file the daemon read: the same starved stall (start and duration).
    const report = await replayFiles([log]);
    const starved = report.stalls.list.filter((s) => s.kind === 'starved');
    expect(starved).toHaveLength(1);
    expect(ended.text).toContain(`from ${starved[0].start} to ${starved[0].end}`);
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
