/**
 * The timeline sink without a browser: the live bounds (window, bar cap, stall cap), the
 * compact encoding round-trip, and that log text cannot break out of the page's script element.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTimelineHtml } from '../../src/export/timeline-html.js';
import { MAX_STALLS_LIVE, TimelineSink, type TimelineData } from '../../src/export/timeline.js';
import type { PollCycleObservation, StallObservation, WaitObservation } from '../../src/reactor/observations.js';
import { logTimeAt, syntheticPoll, syntheticWait, T0_SEC } from './synthetic-observations.mjs';

const pos = { file: 'none', line: 1, offset: 0 };

const wait = (startNs: number, durNs: number, timeoutNs: number | null | undefined): WaitObservation =>
  syntheticWait(startNs, durNs, { endAfterWakeNs: 1000, timeoutNs, reason: 'timeout', pos });
const poll = (startNs: number, durNs: number): PollCycleObservation => syntheticPoll(startNs, durNs, true, pos);

/** The page's decoding, in Node: zigzag/LEB128 columns back to numbers. */
function decode(b64: string, n: number, zig: boolean): number[] {
  const buf = Buffer.from(b64, 'base64');
  const out: number[] = [];
  let p = 0;
  for (let k = 0; k < n; k++) {
    let v = 0;
    let mul = 1;
    let b;
    do {
      b = buf[p++];
      v += (b & 127) * mul;
      mul *= 128;
    } while (b & 128);
    out.push(zig ? (v % 2 === 1 ? -(v + 1) / 2 : v / 2) : v);
  }
  expect(p).toBe(buf.length);
  return out;
}

describe('TimelineSink', () => {
  it('encodes bars exactly (µs), sorted by start, with timeouts', () => {
    const s = new TimelineSink();
    // Waits are observed at their end: a long one ends after a short one that started later.
    s.wait(wait(5_000_000_000, 3_000_000_000, undefined));
    s.wait(wait(6_000_000, 1_234_000, 2_500_000_000));
    s.wait(wait(9_000_000_000, 17_000, null));
    const d: TimelineData = s.data([], 't');
    const lane = d.lanes[0];
    expect(lane.n).toBe(3);
    const starts = decode(lane.start, 3, true).reduce<number[]>((a, x) => [...a, (a[a.length - 1] ?? 0) + x], []);
    expect(starts.map((u) => u * d.unitNs + (d.originSec - T0_SEC) * 1e9)).toEqual([
      6_000_000, 5_000_000_000, 9_000_000_000,
    ]);
    expect(decode(lane.dur, 3, false)).toEqual([1234, 3_000_000, 17]);
    expect(decode(lane.timeout, 3, false)).toEqual([2_500_000 + 2, 0, 1]);
  });

  it('live: keeps the window and at most maxBars bars, whatever the rate', () => {
    const s = new TimelineSink({ windowNs: 60e9, maxBars: 10_000 });
    // 300 s of log at 200 waits + 200 polls per second: 120,000 bars offered.
    for (let i = 0; i < 60_000; i++) {
      s.wait(wait(i * 5_000_000, 1_000_000, 2e9));
      s.pollCycle(poll(i * 5_000_000 + 2_000_000, 500_000));
    }
    const d = s.data([], 'live');
    const kept = d.lanes.reduce((n, l) => n + l.n, 0);
    expect(kept).toBeLessThanOrEqual(10_000);
    expect(kept).toBeGreaterThan(9_000);
    expect(d.endNs - d.startNs).toBeLessThanOrEqual(60e9);
    expect(d.dropped).toBeGreaterThan(0);
    expect(s.waits).toBe(60_000); // the summary counts all
  });

  it('live: the newest stalls are kept, the oldest go', () => {
    const s = new TimelineSink({ windowNs: 1e15 });
    const stall = (i: number): StallObservation => ({
      kind: 'slow_poll',
      start: logTimeAt(i * 1e9),
      end: logTimeAt(i * 1e9 + 60e6),
      durationNs: 60e6,
      pos,
      detail: `stall ${i}`,
    });
    for (let i = 0; i < MAX_STALLS_LIVE + 10; i++) s.stall(stall(i));
    expect(s.stalls.length).toBe(MAX_STALLS_LIVE);
    expect(s.stalls[0].detail).toBe('stall 10');
    expect(s.stallCounts.slow_poll).toBe(MAX_STALLS_LIVE + 10);
  });

  it('reads the lines around a stall from its file, and log text cannot close the page script', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pollscope-sink-'));
    try {
      const file = path.join(dir, 'relay.log');
      const lines = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`);
      lines[19] = 'evil </script><script>window.pwned = 1</script> <!--';
      writeFileSync(file, lines.join('\n') + '\n');
      const offset = Buffer.byteLength(lines.slice(0, 19).join('\n') + '\n');
      const s = new TimelineSink();
      s.stall({
        kind: 'blocked_poll',
        start: logTimeAt(0),
        end: logTimeAt(2e9),
        durationNs: 2e9,
        pos: { file, line: 20, offset },
        detail: 'x',
      });
      const got = s.stalls[0].lines!;
      expect(got[0]).toEqual({ n: 12, text: 'line 12' });
      expect(got.find((l) => l.n === 20)?.text).toBe(lines[19]);
      expect(got[got.length - 1]).toEqual({ n: 43, text: 'line 43' });
      const html = renderTimelineHtml(s.data([['note', '</script>']], '<b>title</b>'));
      expect(html).not.toContain('</script><script>window.pwned');
      expect(html.match(/<\/script>/g)?.length).toBe(3); // config, data, page script
      expect(html).not.toContain('<b>title</b>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
