/**
 * Log time that cannot be trusted (issue 10): a line dated far from its neighbours, a clock
 * that steps by more than a day or back by more than a second, span timings longer than the log,
 * stalls of several threads over the same stretch. Rules: docs/reactor-model.md "Clock jumps".
 */
import { describe, expect, it } from 'vitest';
import type { ReactorEvent } from '../../src/decode/events.js';
import { newRecord } from '../../src/parse/record.js';
import { ReactorModel, DEFAULT_THRESHOLDS } from '../../src/reactor/model.js';
import type { PollCycleObservation, StallObservation } from '../../src/reactor/observations.js';
import { formatTime } from '../../src/time.js';

const BASE = Date.UTC(2022, 3, 21, 22, 30, 0) / 1000;
const DAY = 86_400;

/** Steps of [seconds since BASE (fractions allowed), events, thread?]. */
function run(steps: Array<[number, ReactorEvent[]] | [number, ReactorEvent[], string]>) {
  const stalls: StallObservation[] = [];
  const polls: PollCycleObservation[] = [];
  const model = new ReactorModel({ stall: (s) => stalls.push(s), pollCycle: (p) => polls.push(p) }, DEFAULT_THRESHOLDS);
  steps.forEach(([t, events, thread], i) => {
    const rec = newRecord();
    rec.file = 'c.log';
    rec.hasTime = true;
    const whole = Math.floor(t);
    rec.sec = BASE + whole;
    rec.nsec = Math.round((t - whole) * 1e6) * 1000;
    rec.digits = 6;
    rec.line = i + 1;
    rec.thread = thread ?? '';
    model.advance(rec);
    for (const ev of events) model.event(ev, rec);
    model.afterRecord(rec);
  });
  model.finish();
  const show = (s: StallObservation) => [s.kind, formatTime(s.start), s.durationNs];
  return { stalls: stalls.map(show), polls, model };
}

const waitStart: ReactorEvent = { kind: 'wait_start', poller: 'epoll', fd: 4, timeoutNs: null };
const waitEnd: ReactorEvent = { kind: 'wait_end', poller: 'epoll', fd: 4, res: 1 };
const pollStart: ReactorEvent = { kind: 'poll_start' };
const pollEnd: ReactorEvent = { kind: 'poll_end', ready: false };
const YEAR_9999 = Date.UTC(9999, 3, 21, 22, 30, 0) / 1000 - BASE;
const YEAR_1970 = -BASE + 100;

describe('a line dated far from its neighbours', () => {
  for (const [name, t] of [
    ['9999', YEAR_9999],
    ['1970', YEAR_1970],
  ] as const) {
    it(`year ${name} among 2022 lines while the reactor runs: no stall, its time not used`, () => {
      const { stalls, model, polls } = run([
        [0, [waitStart]],
        [0.0001, [waitEnd]], // running from here: a silence would be a stall
        [t, [pollStart]], // the outlier: counted as logged at the line before it
        [0.03, [pollEnd]],
        [0.4, []],
      ]);
      expect(stalls).toEqual([]);
      expect(model.counters).toMatchObject({ clockOutliers: 1, clockJumpsForward: 0, clockJumpsBack: 0 });
      expect(polls.map((p) => [formatTime(p.start), p.durationNs])).toEqual([
        ['2022-04-21T22:30:00.000100Z', 29_900_000],
      ]);
    });
  }

  it('an outlier at the very end is counted too', () => {
    const { stalls, model } = run([
      [0, [waitStart]],
      [0.0001, [waitEnd]],
      [YEAR_9999, []],
    ]);
    expect(stalls).toEqual([]);
    expect(model.counters.clockOutliers).toBe(1);
  });
});

describe('a clock step confirmed by the next line', () => {
  it('a week ahead with a poll open: nothing measured across it; a poll begun on the step line counts from there', () => {
    const { stalls, model } = run([
      [0, [pollStart]],
      [0.001, []],
      [7 * DAY, [pollStart], '2'], // step line: another thread's poll begins here
      [7 * DAY + 0.5, []], // confirms the step
      [7 * DAY + 1.6, [pollEnd], '2'],
      [7 * DAY + 1.7, [pollEnd]], // the poll begun before the step: its start is not trusted
    ]);
    expect(stalls).toEqual([['blocked_poll', '2022-04-28T22:30:00.000000Z', 1_600_000_000]]);
    expect(model.counters).toMatchObject({ clockJumpsForward: 1, cutByClockStep: 1, pollEndsWithoutStart: 1 });
  });

  it('back by an hour (clock set back): followed, the poll begun on the step line measured from it', () => {
    const { stalls, model } = run([
      [0, [pollStart]],
      [0.0001, [pollEnd]],
      [-3600, [pollStart]],
      [-3600 + 1.5, [pollEnd]],
    ]);
    expect(stalls).toEqual([['blocked_poll', '2022-04-21T21:30:00.000000Z', 1_500_000_000]]);
    expect(model.counters).toMatchObject({ clockJumpsBack: 1, clockOutliers: 0 });
  });

  it('a gap under a day is still a silence of that length', () => {
    const { stalls } = run([
      [0, [waitStart]],
      [0.0001, [waitEnd]],
      [23 * 3600, []],
    ]);
    expect(stalls).toEqual([['silent', '2022-04-21T22:30:00.000100Z', 23 * 3600e9 - 100_000]]);
  });
});

describe('span timings and overlapping stalls', () => {
  it('a FmtSpan close claiming a year of busy time counts only from the first line of the log', () => {
    const { stalls, polls } = run([
      [0, []],
      [2, [{ kind: 'poll_end', ready: null, busyNs: 365 * DAY * 1e9, idleNs: 0 }]],
    ]);
    expect(polls.map((p) => [formatTime(p.start), p.durationNs])).toEqual([['2022-04-21T22:30:00.000000Z', 2e9]]);
    expect(stalls).toEqual([['blocked_poll', '2022-04-21T22:30:00.000000Z', 2e9]]);
  });

  it("two threads' blocked polls over the same stretch: one stall, then only the part after it", () => {
    const { stalls, model } = run([
      [0, [pollStart], '1'],
      [0.5, [pollStart], '2'],
      [3, [pollEnd], '1'],
      [3.2, [pollEnd], '2'], // inside thread 1's stall but for 0.2 s: not a stall of its own
      [4, [pollStart], '1'],
      [4.1, [pollStart], '2'],
      [5.5, [pollEnd], '2'],
      [7, [pollEnd], '1'], // began before thread 2's stall ended: counted from its end
    ]);
    expect(stalls).toEqual([
      ['blocked_poll', '2022-04-21T22:30:00.000000Z', 3e9],
      ['blocked_poll', '2022-04-21T22:30:04.100000Z', 1.4e9],
      ['blocked_poll', '2022-04-21T22:30:05.500000Z', 1.5e9],
    ]);
    expect(model.counters.overlappingStalls).toBe(1);
  });
});
