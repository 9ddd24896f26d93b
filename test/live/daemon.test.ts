/**
 * The daemon in-process, as exporters use it: per-relay sinks from `sinksFor` get the active
 * stall while it lasts (`activeStall`, duration current, null at the end), and the closing
 * stall observation is the one `replay` finds in the same file.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { RelayPipeline } from '../../src/pipeline.js';
import { LineSplitter } from '../../src/source/file-lines.js';
import type { ActiveStallObservation, StallObservation } from '../../src/reactor/observations.js';
import { replay } from '../../src/replay.js';
import { formatTime } from '../../src/time.js';
import { ROOT } from '../helpers.js';
import { sleep, tempDir, waitUntil } from './support.js';

const SAMPLE_LINES = readFileSync(path.join(ROOT, 'samples', 'relay-stall.log'), 'utf8').split('\n');
const WAKE_LINE = 144; // `wait: running epoll_fd=4, events.len=1`: epoll_wait returned

/** Sample lines [from, to] (1-based) stamped from `startMs` on, 10 µs apart. */
function stamped(from: number, to: number, startMs: number): string {
  let out = '';
  for (let i = from; i <= to; i++) {
    const l = SAMPLE_LINES[i - 1];
    const us = (i - from) * 10;
    const t = new Date(startMs + Math.floor(us / 1000)).toISOString().slice(0, 23) + String(us % 1000).padStart(3, '0');
    out += (l.startsWith('[') && l[27] === 'Z' ? '[' + t + l.slice(27) : l) + '\n';
  }
  return out;
}

let daemon: Daemon | null = null;
let cleanup: (() => void) | null = null;
afterEach(async () => {
  await daemon?.stop();
  daemon = null;
  cleanup?.();
  cleanup = null;
});

describe('Daemon in-process', () => {
  it('activeStall while the relay is silent after a wake; the model closes it with the stall replay finds', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const log = path.join(t.dir, 'relay.log');
    writeFileSync(log, '');
    const active: Array<ActiveStallObservation | null> = [];
    const stalls: StallObservation[] = [];
    const notices: string[] = [];
    daemon = startDaemon(
      { ...defaultRunConfig(), logs: [{ pattern: log, relay: 'r1' }], checkpointPath: path.join(t.dir, 'cp.json') },
      {
        sinksFor: (relay) => {
          expect(relay).toBe('r1');
          return [
            {
              activeStall: (a) => {
                active.push(a === null ? null : { ...a });
              },
              stall: (s) => {
                stalls.push(s);
              },
            },
          ];
        },
        notice: (l) => notices.push(l),
      },
    );
    const t0 = Date.now();
    appendFileSync(log, stamped(1, WAKE_LINE, t0));
    await sleep(1500);
    const during = active.filter((a) => a !== null);
    expect(during.length).toBeGreaterThan(3);
    expect(during.every((a) => a.kind === 'silent')).toBe(true);
    expect(during[0].durationNs).toBeGreaterThanOrEqual(1e9);
    expect(during[during.length - 1].durationNs).toBeGreaterThan(during[0].durationNs);
    expect(during[0].pos.line).toBe(WAKE_LINE);
    expect(active).not.toContain(null);
    expect(daemon.activeStalls()).toHaveLength(1);

    appendFileSync(log, stamped(WAKE_LINE + 1, 300, t0 + 2000));
    await sleep(400);
    expect(active[active.length - 1]).toBeNull();
    expect(daemon.activeStalls()).toHaveLength(0);
    await daemon.stop();

    // The same file through replay: the same stall observations (no duplicate from the watchdog).
    const report = await replay([log]);
    const live = stalls.map((s) => ({
      kind: s.kind,
      start: formatTime(s.start),
      end: formatTime(s.end),
      durationNs: s.durationNs,
      at: `${s.pos.file}:${s.pos.line}`,
    }));
    const replayed = report.stalls.list.map((s) => ({
      kind: s.kind,
      start: s.start,
      end: s.end,
      durationNs: s.durationNs,
      at: s.at,
    }));
    expect(replayed.length).toBeGreaterThan(0);
    expect(live).toEqual(replayed);
    expect(stalls.find((s) => s.kind === 'silent')?.durationNs).toBeGreaterThan(1.99e9);
    expect(notices.filter((n) => /stall started: silent/.test(n))).toHaveLength(1);
  });
});

describe('Daemon in-process: an error in one relay stays there', () => {
  it("an exporter that throws: logged once, counted for its relay; its relay's other sinks and the other relay go on", async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const a = path.join(t.dir, 'a.log');
    const b = path.join(t.dir, 'b.log');
    writeFileSync(a, '');
    writeFileSync(b, '');
    const waits = new Map<string, number>();
    const notices: string[] = [];
    daemon = startDaemon(
      {
        ...defaultRunConfig(),
        logs: [
          { pattern: a, relay: 'a' },
          { pattern: b, relay: 'b' },
        ],
        checkpointPath: path.join(t.dir, 'cp.json'),
      },
      {
        sinksFor: (relay) => [
          {
            wait: () => {
              if (relay === 'a') throw new TypeError('exporter bug');
            },
          },
          {
            wait: () => {
              waits.set(relay, (waits.get(relay) ?? 0) + 1);
            },
          },
        ],
        notice: (l) => notices.push(l),
      },
    );
    const t0 = Date.now();
    appendFileSync(a, stamped(1, 300, t0));
    appendFileSync(b, stamped(1, 300, t0));
    await waitUntil(() => (waits.get('a') ?? 0) >= 5 && (waits.get('b') ?? 0) >= 5, 10_000, 'waits of both relays');
    const d = daemon;
    await waitUntil(() => d.relays.get('a')!.pipeline.ingest.lines.decoded > 0, 10_000, 'relay a decoded');
    // Relay a's lines all went through the model despite its exporter: the same counts as relay b.
    await waitUntil(() => waits.get('a') === waits.get('b'), 10_000, 'the same number of waits');
    expect(d.faults.pipelineErrors.get('a')).toBe(waits.get('a'));
    expect(d.faults.pipelineErrors.get('b')).toBe(0);
    const logged = notices.filter((n) => /internal error/.test(n));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(
      /^pollscope: \[a\] internal error, skipped and counted \(pollscope_pipeline_errors_total\); the other relays go on: TypeError: exporter bug \(at .*daemon\.test\.ts:\d+:\d+\)\)$/,
    );
  });

  it('RelayPipeline.onRecordError: a record whose processing throws past the decoders is skipped and handed over; without it (replay) it throws', () => {
    const text = SAMPLE_LINES.join('\n');
    // Errors inside a decoder (and the model events it makes) are Ingest's: counted as malformed.
    // A silent stall is emitted after the record that ends it was decoded (model.afterRecord):
    // a sink failing there escapes Ingest, and the pipeline's guard takes it.
    const failing = (): RelayPipeline =>
      new RelayPipeline('x', [
        {
          stall: (st) => {
            if (st.kind === 'silent') throw new RangeError('model sink bug');
          },
        },
      ]);
    const guarded = failing();
    const errors: string[] = [];
    guarded.onRecordError = (err, rec) => errors.push(`${(err as Error).message} at line ${rec.line}`);
    const asm = guarded.openFile('sample', new Date());
    new LineSplitter(asm, 1 << 20).push(Buffer.from(text));
    asm.flush();
    expect(errors).toEqual([
      `model sink bug at line ${SAMPLE_LINES.findIndex((l) => l.startsWith('[2022-04-21T22:30:26.882457Z')) + 1}`,
    ]);
    // Every line was still counted: the records after each failing one went on.
    const l = guarded.ingest.lines;
    expect(l.decoded + l.ignored + l.malformed + l.oversize).toBe(3000);

    const plain = failing();
    const asm2 = plain.openFile('sample', new Date());
    expect(() => {
      new LineSplitter(asm2, 1 << 20).push(Buffer.from(text));
      asm2.flush();
    }).toThrow('model sink bug');
  });
});
