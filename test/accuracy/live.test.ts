/**
 * Live mode on the real-crate fixtures: each recorded log is written into a file that the daemon
 * (`pollscope run`, in-process) follows, by a writer process pacing the lines by their own
 * timestamps 10× faster, some writes ending mid-line. The stalls, waits and poll cycles the
 * daemon's pipeline reports must be exactly replay's (same kind, start, duration, line).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { replay } from '../../src/replay.js';
import type { ObservationSink, StallObservation } from '../../src/reactor/observations.js';
import { formatTime } from '../../src/time.js';
import { ROOT, WAIT_MS, exitOf, stopChild, waitFor } from '../helpers.js';

const FIXTURES = path.join(ROOT, 'test/real-relay/fixtures');
const WRITER = path.join(ROOT, 'test/accuracy/paced-writer.mjs');
const SCALE = 10;

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-live-accuracy-'));
const children = new Set<ChildProcess>();
const daemons = new Set<Daemon>();
afterAll(async () => {
  for (const c of children) await stopChild(c);
  for (const d of daemons) await d.stop();
  rmSync(tmp, { recursive: true, force: true });
}, 2 * WAIT_MS);

class Collected implements ObservationSink {
  waits = 0;
  polls = 0;
  readonly stalls: StallObservation[] = [];
  wait(): void {
    this.waits++;
  }
  pollCycle(): void {
    this.polls++;
  }
  stall(s: StallObservation): void {
    this.stalls.push(s);
  }
}

const stallKey = (s: StallObservation) => `${s.kind} ${formatTime(s.start)} ${s.durationNs} line ${s.pos.line}`;

/** Runs the paced writer to its end (up to WAIT_MS: it writes for under 2 s of wall time). */
async function runWriter(src: string, dst: string): Promise<void> {
  const child = spawn(process.execPath, [WRITER, JSON.stringify({ src, dst, scale: SCALE, splitEvery: 7 })], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await exitOf(child);
  children.delete(child);
  if (code !== 0) throw new Error(`writer exited ${code}: ${err}`);
}

describe.each(['mixed.env-micros', 'stalls.env-micros', 'stalls.tracing-full'])(
  '%s followed live, written 10× faster than recorded',
  (name) => {
    it(
      'gives the same stalls, waits and poll cycles as replay',
      async () => {
        const src = path.join(FIXTURES, `${name}.log`);
        const totalLines = readFileSync(src, 'utf8').split('\n').length - 1;
        const fromReplay = new Collected();
        await replay([src], { sinks: [fromReplay] });

        const dst = path.join(tmp, `${name}.log`);
        writeFileSync(dst, '');
        const live = new Collected();
        const notices: string[] = [];
        const cfg = {
          ...defaultRunConfig(),
          logs: [{ pattern: dst, relay: 'real' }],
          from: 'start' as const,
          checkpointPath: path.join(tmp, `${name}.checkpoint.json`),
          pollIntervalMs: 50,
        };
        const daemon = startDaemon(cfg, { sinksFor: () => [live], notice: (l) => notices.push(l) });
        daemons.add(daemon);
        try {
          await runWriter(src, dst);
          const linesSeen = () => {
            const l = daemon.relays.get('real')?.pipeline.ingest.lines;
            return l ? l.decoded + l.ignored + l.malformed + l.oversize : 0;
          };
          await waitFor(`the daemon to read all ${totalLines} lines`, () => linesSeen() >= totalLines, {
            detail: () => `${linesSeen()} lines read; ${notices.join('\n')}`,
          });
        } finally {
          await daemon.stop();
          daemons.delete(daemon);
        }
        const lines = daemon.relays.get('real')!.pipeline.ingest.lines;
        expect(lines.malformed).toBe(0);
        expect(lines.decoded + lines.ignored).toBe(totalLines);
        expect(live.waits).toBe(fromReplay.waits);
        expect(live.polls).toBe(fromReplay.polls);
        // (replay's own accuracy against the truth file is real-relay.test.ts's business)
        const truth = JSON.parse(readFileSync(path.join(FIXTURES, `${name}.truth.json`), 'utf8')) as {
          intervals: Array<{ kind: string }>;
        };
        expect(fromReplay.stalls.length).toBe(truth.intervals.filter((t) => t.kind !== 'below_threshold').length);
        expect(live.stalls.map(stallKey)).toEqual(fromReplay.stalls.map(stallKey));
      },
      3 * WAIT_MS,
    ); // the writer, the daemon catching up, its stop
  },
);
