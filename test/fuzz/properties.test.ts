/**
 * Property tests (fast-check through @fast-check/vitest) on parse → decode → model → report:
 * - any input built from the repository's logs and mutated (corpus.ts) goes through the whole
 *   path without an exception, within a time budget per line, with every physical line counted
 *   once (decoded + ignored + malformed + oversize), durations finite and ≥ 0, stalls one after
 *   another and inside the log's time range (runTarget checks these as it goes);
 * - every layout parser, on any cut of a real line with anything after the cut, answers at once
 *   and accepts only valid times;
 * - the reactor model, fed clock jumps of any size, never reports a stall longer than the log
 *   time the lines actually cover.
 * Kept to a few seconds; `npm run fuzz` runs the same generators for as long as asked.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { ReactorEvent } from '../../src/decode/events.js';
import { EXAMPLE_LINES, inputArbitrary, loadSeedFiles } from '../../src/fuzz/corpus.js';
import { runTarget } from '../../src/fuzz/target.js';
import { ENVELOPES } from '../../src/parse/envelopes.js';
import { newRecord } from '../../src/parse/record.js';
import { PartialTimeContext } from '../../src/parse/timestamp.js';
import { MAX_FORWARD_STEP_NS, ReactorModel } from '../../src/reactor/model.js';
import type { StallObservation } from '../../src/reactor/observations.js';
import { ROOT } from '../helpers.js';

const seeds = loadSeedFiles(ROOT, 1500);

describe('the whole replay path', () => {
  test.prop([inputArbitrary(seeds, { maxWindowLines: 25, maxRandomBytes: 1024 })], { numRuns: 300 })(
    'never throws; lines in = lines counted; durations ≥ 0; stalls ordered and inside the log',
    (input) => {
      const r = runTarget(input, { lineBudgetMs: 2000, chunkBytes: 1 + (input.length % 97) });
      const l = r.report.lines;
      expect(l.decoded + l.ignored + l.malformed + l.oversize).toBe(r.linesRead);
    },
  );
});

describe('layout parsers at the end of the line', () => {
  const lines = [...EXAMPLE_LINES, ...seeds.flatMap((f) => f.lines.slice(0, 3))];
  test.prop([fc.constantFrom(...lines), fc.nat(), fc.string({ maxLength: 3 })], { numRuns: 1500 })(
    'a cut line (with anything after the cut) is parsed or refused at once, and a time is valid',
    (line, at, tail) => {
      const text = line.slice(0, at % (line.length + 1)) + tail;
      const ctx = new PartialTimeContext(new Date('2022-04-21T00:00:00Z'));
      for (const env of ENVELOPES) {
        const rec = newRecord();
        const t0 = performance.now();
        const ok = env.parse(text, rec, ctx);
        expect(performance.now() - t0).toBeLessThan(1000);
        if (ok && rec.hasTime) {
          expect(Number.isInteger(rec.sec)).toBe(true);
          expect(rec.nsec >= 0 && rec.nsec < 1e9 && Number.isInteger(rec.nsec)).toBe(true);
          expect(rec.digits >= 0 && rec.digits <= 9).toBe(true);
        }
      }
    },
  );
});

describe('the reactor model under clock jumps', () => {
  const S = 1e9;
  const step = fc.record({
    dt: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 3 * S }) }, // ordinary gaps, some stalls
      { weight: 2, arbitrary: fc.integer({ min: -1_000_000, max: 0 }) }, // threads racing
      { weight: 1, arbitrary: fc.integer({ min: 2 * 86_400, max: 250_000_000_000 }).map((s) => s * S) }, // years ahead
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 60_000_000_000 }).map((s) => -s * S) }, // far back
    ),
    events: fc.array(
      fc.constantFrom<ReactorEvent>(
        { kind: 'poll_start' },
        { kind: 'poll_end', ready: false },
        { kind: 'poll_end', ready: null, busyNs: 5e15, idleNs: 1e9 },
        { kind: 'wait_start', poller: 'epoll', fd: 4, timeoutNs: null },
        { kind: 'wait_wake', fd: 4, res: 1 },
        { kind: 'wait_ready', fd: null, index: 0, flags: 1, key: 0 },
        { kind: 'wait_end', poller: 'epoll', fd: 4, res: 1 },
        { kind: 'wait_end', poller: 'epoll', fd: 4, res: null, busyNs: 1e18 },
        { kind: 'wait_end', poller: 'epoll', fd: 4, res: null, busyNs: Infinity }, // `time.busy=` of 400 digits
        { kind: 'poll_end', ready: true, busyNs: Infinity, idleNs: Infinity },
      ),
      { maxLength: 3 },
    ),
    timed: fc.boolean(),
  });
  test.prop([fc.array(step, { minLength: 1, maxLength: 60 })], { numRuns: 500 })(
    'no stall is longer than the log time the lines cover; none overlap; no negative duration',
    (steps) => {
      const stalls: StallObservation[] = [];
      const durations: number[] = [];
      const model = new ReactorModel(
        {
          stall: (s) => stalls.push(s),
          pollCycle: (p) => durations.push(p.durationNs),
          wait: (w) => durations.push(w.durationNs ?? 0, w.sincePollEndNs ?? 0),
          wakeToPoll: (d) => durations.push(d.delayNs),
          unfinished: (u) => durations.push(u.followedByNs),
        },
        { slowPollNs: 50e6, blockedPollNs: 200e6, starvedNs: 200e6, silentNs: 200e6 },
      );
      let sec = Date.UTC(2022, 3, 21) / 1000;
      let nsec = 0;
      let prev: { sec: number; nsec: number } | null = null;
      let covered = 0; // Σ over consecutive timed lines of the gap, clipped to [0, 1 day]
      steps.forEach((s, i) => {
        // Whole seconds and ns apart, as the parsers keep them (a double holds ~15.9 digits).
        const dsec = Math.trunc(s.dt / S);
        sec += dsec;
        nsec += Math.max(-S + 1, Math.min(S - 1, Math.round(s.dt - dsec * S)));
        if (nsec >= S) {
          sec++;
          nsec -= S;
        } else if (nsec < 0) {
          sec--;
          nsec += S;
        }
        const rec = newRecord();
        rec.file = 'p.log';
        rec.hasTime = s.timed;
        rec.sec = sec;
        rec.nsec = nsec;
        rec.digits = 6;
        rec.line = i + 1;
        if (s.timed) {
          if (prev !== null)
            covered += Math.min(MAX_FORWARD_STEP_NS, Math.max(0, (sec - prev.sec) * S + (nsec - prev.nsec)));
          prev = { sec, nsec };
        }
        model.advance(rec);
        for (const ev of s.events) model.event(ev, rec);
        model.afterRecord(rec);
      });
      model.finish();
      for (const d of durations) expect(d >= 0 && Number.isFinite(d)).toBe(true);
      let last: StallObservation | null = null;
      let segment = 0;
      for (const st of stalls) {
        expect(st.durationNs).toBeGreaterThanOrEqual(0);
        // Lines before the first time are placed at 1970-01-01T00:00:00Z: there a span's own
        // timing is all there is, taken up to a day.
        expect(st.durationNs).toBeLessThanOrEqual(st.end.sec === 0 ? MAX_FORWARD_STEP_NS : covered);
        if (st.kind === 'slow_poll') continue;
        const seg = model.counters.clockJumpsBack + model.counters.clockJumpsForward;
        // A stall of lines before the first time is placed at 1970-01-01T00:00:00Z, which ends
        // before any real log's time; a generated log may start before 1970 (dt < 0 from 2022),
        // and then its stalls come after that placeholder in the list but not in time.
        const placeholder = last !== null && last.end.sec === 0 && last.end.nsec === 0;
        if (last !== null && !placeholder && seg === segment && model.counters.clockJumpsBack === 0)
          expect((st.start.sec - last.end.sec) * S + (st.start.nsec - last.end.nsec)).toBeGreaterThanOrEqual(0);
        segment = seg;
        last = st;
      }
    },
  );
});
