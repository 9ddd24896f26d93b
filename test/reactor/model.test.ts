import { describe, expect, it } from 'vitest';
import { NOTIFY_KEY, type ReactorEvent } from '../../src/decode/events.js';
import { newRecord } from '../../src/parse/record.js';
import { ReactorModel, DEFAULT_THRESHOLDS } from '../../src/reactor/model.js';
import type {
  PollCycleObservation,
  StallObservation,
  UnfinishedObservation,
  WaitObservation,
  WakeToPollObservation,
} from '../../src/reactor/observations.js';
import { formatTime } from '../../src/time.js';

/** Drives the model with (time in µs since 12:00:00, events) steps, like the pipeline does. */
function run(
  steps: Array<[number, ReactorEvent[]] | [number, ReactorEvent[], string]>,
  thresholds = DEFAULT_THRESHOLDS,
  digits = 6,
) {
  const waits: WaitObservation[] = [];
  const polls: PollCycleObservation[] = [];
  const stalls: StallObservation[] = [];
  const open: UnfinishedObservation[] = [];
  const delays: WakeToPollObservation[] = [];
  const model = new ReactorModel(
    {
      wait: (w) => waits.push(w),
      pollCycle: (p) => polls.push(p),
      stall: (s) => stalls.push(s),
      unfinished: (u) => open.push(u),
      wakeToPoll: (d) => delays.push(d),
    },
    thresholds,
  );
  const base = Date.UTC(2022, 3, 21, 12, 0, 0) / 1000;
  steps.forEach(([us, events, thread], i) => {
    const rec = newRecord();
    rec.hasTime = true;
    rec.sec = base + Math.floor(us / 1e6);
    rec.nsec = (us % 1e6) * 1000;
    rec.digits = digits;
    rec.line = i + 1;
    rec.file = 't.log';
    rec.thread = thread ?? '';
    model.advance(rec);
    for (const ev of events) model.event(ev, rec);
    model.afterRecord(rec);
  });
  model.finish();
  return { waits, polls, stalls, open, delays, model };
}

const S = 1_000_000; // µs per s
const waitStart = (fd = 4, timeoutNs: number | null = null): ReactorEvent => ({
  kind: 'wait_start',
  poller: 'epoll',
  fd,
  timeoutNs,
});
const waitEnd = (res: number | null, fd = 4): ReactorEvent => ({ kind: 'wait_end', poller: 'epoll', fd, res });
const wake = (res: number, fd = 4): ReactorEvent => ({ kind: 'wait_wake', fd, res });
const ready = (key: number, flags = 1): ReactorEvent => ({ kind: 'wait_ready', fd: null, index: 0, flags, key });
const pollStart: ReactorEvent = { kind: 'poll_start' };
const pollEnd = (r: boolean | null): ReactorEvent => ({ kind: 'poll_end', ready: r });
const react = (n: number): ReactorEvent => ({ kind: 'react_done', wakers: n });
const timers = (n: number): ReactorEvent => ({ kind: 'timers_processed', wakers: n });

describe('wait pairing and wake reasons', () => {
  it('fork wait with listed keys: io on key 0, notify key with timeout None is the eventfd', () => {
    const { waits } = run([
      [0, [waitStart(4, null)]],
      [250_000, [wake(2)]],
      [250_010, [ready(0, 0x1)]],
      [250_020, [ready(NOTIFY_KEY, 0x1)]],
      [250_100, [{ kind: 'interest', op: 'modify', fd: 4, targetFd: null, key: NOTIFY_KEY, flags: 0x4000201b }]],
      [250_200, [waitEnd(2)]],
    ]);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({
      fd: 4,
      durationNs: 250_000_000,
      res: 2,
      reasons: ['io', 'notify'],
      notifierRearm: { fd: null, flags: 0x4000201b },
    });
    expect(formatTime(waits[0].end)).toBe('2022-04-21T12:00:00.250200Z');
  });

  it('polling 2.x (no keys): async-io react without a second process_timers means I/O', () => {
    const { waits } = run([
      [0, [timers(0)]],
      [10, [waitStart(5, null)]],
      [
        20,
        [
          {
            kind: 'interest',
            op: 'modify',
            fd: 5,
            targetFd: 7,
            key: NOTIFY_KEY,
            flags: null,
            readable: true,
            writable: false,
          },
        ],
      ],
      [3 * S, [waitEnd(1, 5)]],
      [
        3 * S + 10,
        [
          {
            kind: 'interest',
            op: 'modify',
            fd: 5,
            targetFd: 6,
            key: NOTIFY_KEY,
            flags: null,
            readable: true,
            writable: false,
          },
        ],
      ],
      [3 * S + 20, [react(1)]],
    ]);
    expect(waits[0]).toMatchObject({
      reasons: ['io'],
      durationNs: 3e9 - 10_000,
      notifierRearm: { fd: 6, flags: 0x4000201b },
    });
  });

  it('polling 2.x: a second process_timers before react means no user event (timeout after a finite timeout)', () => {
    const { waits } = run([
      [0, [waitStart(5, 500_000_000)]],
      [500_300, [waitEnd(1, 5)]],
      [500_310, [timers(1)]],
      [500_320, [react(1)]],
    ]);
    expect(waits[0].reasons).toEqual(['timeout']);
  });

  it('a notify during the wait and res=0 cases', () => {
    const { waits } = run([
      [0, [waitStart(5, null)]],
      [100, [{ kind: 'notify', fd: 5 }]],
      [120, [waitEnd(1, 5)]],
      [130, [timers(0)]],
      [140, [react(0)]],
      [200, [waitStart(5, 50_000_000)]],
      [50_300, [waitEnd(0, 5)]],
      [50_400, [waitStart(5, 0)]],
      [50_410, [waitEnd(0, 5)]],
      [60_000, [waitStart(5, null)]],
      [70_000, [waitEnd(3, 5)]], // no async-io verdict before the log ends: cannot be told
    ]);
    expect(waits.map((w) => w.reasons)).toEqual([['notify'], ['timeout'], ['spurious'], ['unknown']]);
  });

  it('an end without a start (log began mid-wait) counts with the start unknown and the quiet gap before it', () => {
    const { waits, model } = run([
      [0, [pollEnd(false)]],
      [45 * S + 143_128, [wake(1)]],
      [45 * S + 143_200, [ready(0)]],
      [45 * S + 143_300, [waitEnd(1)]],
    ]);
    expect(waits[0]).toMatchObject({
      start: null,
      durationNs: null,
      gapBeforeNs: 45_143_128_000,
      sincePollEndNs: 45_143_128_000,
      reasons: ['io'],
    });
    expect(model.counters.waitEndsWithoutStart).toBe(1);
  });

  it('a second start before an end is a lost end; pairing is per fd, not per thread', () => {
    const { waits, model } = run([
      [0, [waitStart(4)], 'A'],
      [10, [waitStart(9)], 'A'],
      [20, [waitStart(4)], 'B'], // fd 4's first wait never ended
      [30, [waitEnd(0, 9)], 'B'],
      [40, [waitEnd(0, 4)], 'C'],
    ]);
    expect(waits.map((w) => [w.fd, w.durationNs, w.threadMismatch])).toEqual([
      [9, 20_000, true],
      [4, 20_000, true],
    ]);
    expect(model.counters.waitStartsWithoutEnd).toBe(1);
  });
});

describe('poll cycles and stalls', () => {
  it('slow_poll and blocked_poll by duration', () => {
    const { polls, stalls } = run([
      [0, [pollStart]],
      [40_000, [pollEnd(true)]],
      [50_000, [pollStart]],
      [110_000, [pollEnd(false)]],
      [200_000, [pollStart]],
      [1_700_000, [pollEnd(false)]],
    ]);
    expect(polls.map((p) => p.durationNs)).toEqual([40e6, 60e6, 1500e6]);
    expect(stalls.map((s) => [s.kind, s.durationNs, s.pos.line])).toEqual([
      ['slow_poll', 60e6, 3],
      ['blocked_poll', 1500e6, 5],
    ]);
  });

  it('starved: I/O readiness and no poll for ≥ 1 s; wake → poll delay measured from the wake', () => {
    const { stalls, delays } = run([
      [0, [pollStart]],
      [100, [pollEnd(false)]],
      [1_000, [waitStart()]],
      [5_000, [wake(1)]],
      [5_010, [ready(0)]],
      [5_020, [waitEnd(1)]],
      [5_030, [waitStart()]],
      [2_005_000, [pollStart]],
      [2_005_100, [pollEnd(true)]],
    ]);
    expect(delays.map((d) => d.delayNs)).toEqual([2_000_000_000]);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toMatchObject({ kind: 'starved', durationNs: 2e9 });
    expect(formatTime(stalls[0].start)).toBe('2022-04-21T12:00:00.005000Z');
  });

  it("readiness during a running poll is that poll's to pick up, not starvation", () => {
    const { stalls, delays } = run([
      [0, [pollStart]],
      [10, [waitStart()]],
      [20, [wake(1)]],
      [25, [ready(0)]],
      [30, [waitEnd(1)]],
      [40, [pollEnd(false)]],
      [50, [waitStart()]],
      [10 * S, [waitEnd(0)]],
      [10 * S + 10, [pollStart]],
    ]);
    expect(stalls).toEqual([]);
    expect(delays).toEqual([]);
  });

  it('silent: a gap with nothing logged while not waiting and not polling; a gap inside a wait is idle', () => {
    const { stalls } = run([
      [0, [waitStart()]],
      [5 * S, [waitEnd(0)]], // 5 s idle in epoll_wait: fine
      [5 * S + 10, []],
      [6 * S + 500_000, []], // 1.49 s of nothing while running: silent
      [6 * S + 500_100, [waitStart()]],
    ]);
    expect(stalls.map((s) => [s.kind, s.durationNs, s.pos.line])).toEqual([['silent', 1_499_990_000, 3]]);
  });

  it('a silence that ends with the wake of an unseen wait start is that wait (polling 3.x logs only ends)', () => {
    const { stalls, waits } = run([
      [0, [waitEnd(1)]],
      [10, []],
      [3 * S, [waitEnd(1)]],
    ]);
    expect(stalls).toEqual([]);
    expect(waits[1].gapBeforeNs).toBe(3e9 - 10_000);
  });

  it('at end of input, open waits, polls and readiness are unfinished, not stalls', () => {
    const { stalls, open } = run([
      [0, [pollStart]],
      [10, [pollEnd(false)]],
      [20, [wake(1)]],
      [30, [ready(0)]],
      [40, [waitEnd(1)]],
      [50, [waitStart(4, null)]],
      [60, [pollStart], 'main'],
      [3 * S, []],
    ]);
    expect(stalls).toEqual([]);
    expect(open.map((u) => [u.what, u.followedByNs])).toEqual([
      ['wait', 3e9 - 50_000],
      ['poll', 3e9 - 60_000],
    ]);
  });

  it('thresholds are flags; whole-second timestamps need the gap to exceed threshold + resolution', () => {
    const micros = run([
      [0, [pollStart]],
      [1_000_001, [pollEnd(false)]],
    ]);
    expect(micros.stalls.map((s) => s.kind)).toEqual(['blocked_poll']);
    const strict = run(
      [
        [0, [pollStart]],
        [1_000_001, [pollEnd(false)]],
      ],
      { ...DEFAULT_THRESHOLDS, blockedPollNs: 2e9, slowPollNs: 2e9 },
    );
    expect(strict.stalls).toEqual([]);
    // whole seconds: 1 s apart may be 1 µs; 2 s apart is at least 1 s
    const seconds = run(
      [
        [0, [pollStart]],
        [1 * S, [pollEnd(false)]],
        [2 * S, [pollStart]],
        [4 * S, [pollEnd(false)]],
      ],
      DEFAULT_THRESHOLDS,
      0,
    );
    expect(seconds.stalls.map((s) => [s.kind, s.durationNs])).toEqual([['blocked_poll', 2e9]]);
    expect(seconds.polls.every((p) => p.imprecise === false)).toBe(true);
  });
});

describe('log time', () => {
  it('tolerates µs inversions across threads and follows a clock set back', () => {
    const { model, stalls } = run([
      [10 * S, [pollStart]],
      [10 * S - 30, []], // stamped before the line above was written
      [10 * S + 100, [pollEnd(false)]],
      [2 * S, [pollStart]], // clock set back 8 s
      [2 * S + 1_500_000, [pollEnd(false)]],
    ]);
    expect(model.counters).toMatchObject({ timeInversions: 1, maxInversionNs: 30_000, clockJumpsBack: 1 });
    expect(stalls.map((s) => [s.kind, s.durationNs])).toEqual([['blocked_poll', 1.5e9]]);
  });
});

describe('one stall per stretch of log time', () => {
  it('a wake, then silence, then the wait ends and a poll starts: one silent stall, not also starved', () => {
    const { stalls, delays } = run([
      [0, [pollStart]],
      [100, [pollEnd(false)]],
      [200, [waitStart()]],
      [1_000, [waitEnd(0)]],
      [2_000, [waitStart()]],
      [5_000, [wake(1)]], // epoll_wait returned …
      [2_005_000, [ready(0)]],
      [2_005_100, [waitEnd(1)]], // … and nothing was logged for 2 s
      [2_007_000, [pollStart]],
      [2_007_100, [pollEnd(true)]],
    ]);
    expect(stalls.map((s) => [s.kind, s.durationNs])).toEqual([['silent', 2e9]]);
    expect(delays.map((d) => d.delayNs)).toEqual([2_002_000_000]); // the delay itself is still the wake's
  });
});
