/**
 * The reactor model: per-poller wait state machines, per-thread swarm poll cycles, readiness
 * tracking and stall detection (log-formats.md section 6). It is fed decoded events in file
 * order and turns them into observations. It never reads the wall clock: every time is the log's.
 */
import type { ReactorEvent, ReactorEventSink } from '../decode/events.js';
import type { LogRecord } from '../parse/record.js';
import { diffNs, logTime, resolutionNs, type LogTime } from '../time.js';
import { LogClock } from './clock.js';
import { ConnectionModel } from './connections.js';
import { classify, formatTimeout, type OpenPoll } from './wait-state.js';
import { Waits } from './waits.js';
import type { ObservationSink, SourcePos, StallKind, WaitObservation } from './observations.js';

export interface Thresholds {
  /** A poll cycle this long is a slow poll (counted, not alarming). */
  slowPollNs: number;
  /** A poll cycle this long is a blocked_poll stall. */
  blockedPollNs: number;
  /** I/O readiness not followed by a swarm poll for this long is a starved stall. */
  starvedNs: number;
  /** Nothing logged for this long while the reactor was neither waiting nor polling: silent stall. */
  silentNs: number;
  /** A libp2p poll span (Connection::poll …) this busy is a slow poll; default 50 µs (tokio-metrics' slow poll). */
  slowConnectionPollNs?: number;
}

export { DEFAULT_SLOW_CONNECTION_POLL_NS } from './connections.js';

export { classify, formatTimeout };

export const DEFAULT_THRESHOLDS: Thresholds = {
  slowPollNs: 50_000_000,
  blockedPollNs: 1_000_000_000,
  starvedNs: 1_000_000_000,
  silentNs: 1_000_000_000,
};

/** What the reactor is doing right now, for live watchdogs (the `run` daemon). */
export type ReactorState = 'unknown' | 'waiting' | 'polling' | 'readiness_pending' | 'running';

/** Counters the model keeps about the input's reliability, for the report. */
export interface ModelCounters {
  waitStartsWithoutEnd: number;
  waitEndsWithoutStart: number;
  pollEndsWithoutStart: number;
  pollStartsWithoutEnd: number;
  threadMismatches: number;
  timeInversions: number;
  maxInversionNs: number;
  /**
   * Clock steps back by more than any thread race (> 1 s), confirmed by the next line: log time
   * restarts from the new value (a new segment: clock.ts).
   */
  clockJumpsBack: number;
  /** Clock steps forward by more than a day, confirmed by the next line: a new segment. */
  clockJumpsForward: number;
  /**
   * Lines whose time was far (> 1 s back or > 1 day ahead) from both neighbours' (a year-9999 or
   * 1970 line among 2022 ones): their time is not trusted; they count as logged at the line before.
   */
  clockOutliers: number;
  /**
   * Waits, polls and readiness open when the clock stepped (or begun on lines without a time
   * before the first timed line): not measured across the step.
   */
  cutByClockStep: number;
  /** Stalls (slow polls aside) that lay inside the one reported before them: not reported twice. */
  overlappingStalls: number;
}

export { MAX_FORWARD_STEP_NS } from './clock.js';

/** Where rec is, for an observation to point at. */
function posOf(rec: LogRecord): SourcePos {
  return { file: rec.file, line: rec.line, offset: rec.offset };
}

/**
 * The coordinator: the log clock (clock.ts) and the epoll waits (waits.ts) are its components; it
 * keeps the swarm's poll cycles, readiness and stalls, which all of them feed.
 */
export class ReactorModel implements ReactorEventSink {
  /** Log time as the lines give it; calls back into the model for what a step cuts and a gap means. */
  private readonly clock: LogClock;
  private readonly waits: Waits;
  private readonly polls = new Map<string, OpenPoll>();
  /** The swarm's last poll end in this clock segment (lastPollEnd, but cut at clock steps). */
  private segPollEnd: LogTime | null = null;
  private silentCandidate: { start: LogTime; end: LogTime; pos: SourcePos } | null = null;
  /** A gap in a span-based relay's log (no reactor lines): reported as quiet unless a stall explains it. */
  private quietCandidate: { start: LogTime; end: LogTime; pos: SourcePos } | null = null;
  /** Poll spans and connections of span-based relays (rust-libp2p ≥ 0.53 on tokio). */
  readonly connections: ConnectionModel;

  private swarmSeen = false;
  private readiness: { at: LogTime; pos: SourcePos } | null = null;
  private lastPollStart: LogTime | null = null;
  /** Poll starts so far, in file order: orders a poll start and a wake that carry the same timestamp. */
  private pollStarts = 0;
  /** End of the last stall reported (slow polls aside): a stretch of log time is one stall at most. */
  private lastStallEnd: LogTime | null = null;
  /** The swarm's last poll end (also from an end whose start the log did not show) and its result. */
  lastPollEnd: LogTime | null = null;
  lastPollReady: boolean | null = null;

  readonly counters: ModelCounters = {
    waitStartsWithoutEnd: 0,
    waitEndsWithoutStart: 0,
    pollEndsWithoutStart: 0,
    pollStartsWithoutEnd: 0,
    threadMismatches: 0,
    timeInversions: 0,
    maxInversionNs: 0,
    clockJumpsBack: 0,
    clockJumpsForward: 0,
    clockOutliers: 0,
    cutByClockStep: 0,
    overlappingStalls: 0,
  };

  constructor(
    private readonly sink: ObservationSink,
    private readonly thresholds: Thresholds = DEFAULT_THRESHOLDS,
  ) {
    // Callbacks bound once here: nothing is allocated per line.
    this.clock = new LogClock(
      this.counters,
      (at, firstTimed) => this.clockCut(at, firstTimed),
      (rec, gapNs) => this.timedGap(rec, gapNs),
      () => {
        this.silentCandidate = null;
      },
      // timedGap acts only on gaps of silentNs and more (both of its cases need gap − resolution ≥ silentNs)
      thresholds,
    );
    this.waits = new Waits(sink, this.counters, this.clock, {
      pollStarts: () => this.pollStarts,
      sincePollEndNs: (wake) =>
        this.polls.size === 0 && this.segPollEnd !== null ? Math.max(0, diffNs(this.segPollEnd, wake)) : null,
      emit: (obs, pollStartsAtEnd) => this.emitWait(obs, pollStartsAtEnd),
      midWait: () => {
        this.silentCandidate = null;
      },
    });
    // The same thresholds object: a SIGHUP reload changes it in place for both.
    this.connections = new ConnectionModel(
      sink,
      thresholds,
      (kind, start, end, pos, detail) => this.stall(kind, start, end, pos, detail),
      (end, totalNs) => this.clock.spanStart(end, totalNs),
    );
  }

  /**
   * Called for every record, decoded or not, before its events: advances log time (clock.ts) and
   * finds silences (a gap between two lines while the reactor was neither waiting nor polling).
   */
  advance(rec: LogRecord): void {
    this.clock.advance(rec);
  }

  /** The clock stepped (or the first timed line followed lines without a time): see cutAtClockStep. */
  private clockCut(at: LogTime, firstTimed: boolean): void {
    if (!firstTimed) {
      this.cutAtClockStep(at);
      return;
    }
    // (Stalls stay in order: the 1970 ones end before anything a real log holds.)
    const lastStallEnd = this.lastStallEnd;
    this.cutAtClockStep(at);
    this.lastStallEnd = lastStallEnd;
  }

  /** A plausible forward gap from `now` to rec's time (`now` not moved yet): a silence or a quiet stretch? */
  private timedGap(rec: LogRecord, gap: number): void {
    const clock = this.clock;
    if (
      gap - resolutionNs(Math.min(clock.nowDigits, rec.digits)) >= this.thresholds.silentNs &&
      this.waits.reactorSeen &&
      this.stateAt() === 'running'
    ) {
      this.silentCandidate = {
        start: clock.nowTime(),
        end: logTime(rec.sec, rec.nsec, rec.digits),
        pos: clock.prevPos(),
      };
    } else if (
      !this.waits.reactorSeen &&
      this.polls.size === 0 && // inside an open Swarm::poll the poll model reports the gap (blocked_poll)
      this.connections.openCount > 0 &&
      gap - resolutionNs(Math.min(clock.nowDigits, rec.digits)) >= this.thresholds.silentNs
    ) {
      this.quietCandidate = {
        start: clock.nowTime(),
        end: logTime(rec.sec, rec.nsec, rec.digits),
        pos: clock.prevPos(),
      };
    }
  }

  /**
   * The clock stepped to `at` (confirmed by the line after it): nothing is measured across the step.
   * What the step line itself opened moves to its own time; what was open before loses its start
   * (a wait then ends with its start unknown; a poll end finds no start; readiness is dropped).
   */
  private cutAtClockStep(at: LogTime): void {
    this.waits.cutAtClockStep(at);
    for (const [thread, poll] of this.polls) {
      if (this.clock.isJumpLine(poll.pos)) poll.start = at;
      else {
        this.counters.cutByClockStep++;
        this.polls.delete(thread);
      }
    }
    if (this.readiness !== null) {
      this.counters.cutByClockStep++;
      this.readiness = null;
    }
    this.lastPollStart = null;
    this.lastStallEnd = null;
    this.segPollEnd = null;
    this.silentCandidate = null;
  }

  /**
   * Start of a span whose own timing says it lasted `totalNs` up to `end` (FmtSpan close), never
   * before the clock segment's first line (clock.ts). Public for other span consumers of the same
   * log (span-based poll models) to apply the same rule.
   */
  spanStart(end: LogTime, totalNs: number): LogTime {
    return this.clock.spanStart(end, totalNs);
  }

  /** Called after a record's events: a silence ended by the wake of a wait we never saw start was that wait. */
  afterRecord(rec: LogRecord): void {
    if (this.silentCandidate !== null) {
      const c = this.silentCandidate;
      this.silentCandidate = null;
      this.stall(
        'silent',
        c.start,
        c.end,
        c.pos,
        'nothing was logged while the reactor was neither waiting in epoll nor polling',
      );
    }
    if (this.quietCandidate !== null) {
      const q = this.quietCandidate;
      this.quietCandidate = null;
      // A stall this very line closed (a blocked Swarm::poll's close) explains the gap.
      if (this.lastStallEnd === null || diffNs(this.lastStallEnd, q.end) > 0) {
        this.sink.quiet?.({
          start: q.start,
          end: q.end,
          durationNs: diffNs(q.start, q.end),
          openConnections: this.connections.openCount,
          pos: q.pos,
        });
      }
    }
    this.waits.afterRecord();
    this.clock.recordDone(rec);
  }

  /** Current state, as a live watchdog needs it. */
  stateAt(): ReactorState {
    if (this.polls.size > 0) return 'polling';
    if (this.waits.waiting()) return 'waiting';
    if (this.readiness !== null) return 'readiness_pending';
    return this.waits.reactorSeen ? 'running' : 'unknown';
  }

  /**
   * For live watchdogs: the state the reactor is stuck in if no progress is logged, and since
   * when (log time): the oldest open poll cycle (blocked_poll), pending readiness (starved), or
   * the last line while running (silent) — the starts replay's stall observations would carry.
   * Null while waiting in epoll (silence is fine there) or before any reactor line.
   * Pending readiness wins over waiting: a starved swarm is exactly a reactor that delivered the
   * readiness and went back into epoll_wait while no poll started (replay reports it as starved
   * at the next poll start, so live must raise it while it lasts).
   */
  stuckSince(): { state: 'polling' | 'readiness_pending' | 'running'; since: LogTime; pos: SourcePos } | null {
    if (this.polls.size > 0) {
      let oldest: OpenPoll | null = null;
      for (const p of this.polls.values()) if (oldest === null || diffNs(p.start, oldest.start) > 0) oldest = p;
      return { state: 'polling', since: oldest!.start, pos: oldest!.pos };
    }
    if (this.readiness !== null)
      return { state: 'readiness_pending', since: this.starvedSince(this.readiness), pos: this.readiness.pos };
    if (this.waits.waiting()) return null;
    if (!this.waits.reactorSeen || !this.clock.hasNow) return null;
    return {
      state: 'running',
      since: this.clock.nowTime(),
      pos: this.clock.prevPos(),
    };
  }

  event(ev: ReactorEvent, rec: LogRecord): void {
    const clock = this.clock;
    // The event's time and position are objects: made only for the kinds that keep them (about
    // half of a fork log's events are interest changes, which need neither).
    clock.eventSeen();
    // Cases by how often they come (a switch on strings tests them in order): interest changes
    // and swarm poll cycles are most of a fork relay's events.
    switch (ev.kind) {
      case 'interest':
        this.waits.interest(ev);
        break;
      case 'poll_start':
        this.pollStart(clock.eventTime(rec), posOf(rec), ev.tid || rec.thread);
        break;
      case 'poll_end':
        this.pollEnd(clock.eventTime(rec), posOf(rec), ev.tid || rec.thread, ev.ready, ev.busyNs, ev.idleNs);
        break;
      case 'span':
        this.connections.span(ev, clock.eventTime(rec), posOf(rec), ev.tid || rec.thread);
        break;
      case 'connection_activity':
        this.connections.activity(ev.conn, clock.eventTime(rec), posOf(rec));
        break;
      case 'timers_processed':
        this.waits.timersProcessed();
        break;
      case 'wait_ready':
        this.waits.waitReady(ev);
        break;
      case 'wait_start':
        this.waits.waitStart(ev, clock.eventTime(rec), posOf(rec), ev.tid || rec.thread);
        break;
      case 'wait_block':
        break;
      case 'wait_wake':
        this.waits.waitWake(ev, clock.eventTime(rec), posOf(rec));
        break;
      case 'wait_end':
        this.waits.waitEnd(ev, clock.eventTime(rec), posOf(rec), ev.tid || rec.thread);
        break;
      case 'react_done':
        this.waits.reactDone();
        break;
      case 'notify':
        this.waits.notify(ev);
        break;
      case 'io_runner':
        break;
      case 'poller_new':
        this.waits.pollerNew(ev);
        break;
      case 'notify_drained':
        this.waits.notifyDrained(ev);
        break;
      case 'connection':
        this.connections.connection(ev, clock.eventTime(rec));
        break;
    }
  }

  private emitWait(obs: WaitObservation, pollStartsAtEnd = this.pollStarts): void {
    this.sink.wait?.(obs);
    if (!obs.reasons.includes('io') || !this.swarmSeen || this.readiness !== null) return;
    // Readiness counts for the swarm only when no poll was in progress (that poll picks it up)
    // and no poll started since the wake.
    // Since the wake: a poll start logged after the wait's end line, or stamped later than the
    // wake. Equal stamps (whole-second logs) are ordered by the file, not taken as "since".
    if (this.polls.size > 0) return;
    if (this.pollStarts !== pollStartsAtEnd) return;
    if (this.lastPollStart !== null && diffNs(obs.wake, this.lastPollStart) > 0) return;
    this.readiness = { at: obs.wake, pos: obs.pos };
  }

  private pollStart(t: LogTime, pos: SourcePos, thread: string): void {
    this.swarmSeen = true;
    if (this.polls.has(thread)) this.counters.pollStartsWithoutEnd++;
    this.polls.set(thread, { start: t, pos, thread });
    this.lastPollStart = t;
    this.pollStarts++;
    const r = this.readiness;
    if (r !== null) {
      this.readiness = null;
      const delay = Math.max(0, diffNs(r.at, t));
      this.sink.wakeToPoll?.({ readyAt: r.at, pollStart: t, delayNs: delay, pos });
      const since = this.starvedSince(r);
      if (diffNs(since, t) - resolutionNs(t.digits) >= this.thresholds.starvedNs) {
        this.stall('starved', since, t, r.pos, 'epoll reported I/O readiness and no swarm poll started');
      }
    }
  }

  private pollEnd(
    t: LogTime,
    pos: SourcePos,
    thread: string,
    ready: boolean | null,
    busyNs?: number,
    idleNs?: number,
  ): void {
    this.swarmSeen = true;
    const open = this.polls.get(thread);
    this.polls.delete(thread);
    this.lastPollEnd = t;
    this.segPollEnd = t;
    this.lastPollReady = ready;
    let start: LogTime;
    let startPos: SourcePos;
    if (open !== undefined) {
      start = open.start;
      startPos = open.pos;
    } else if (busyNs !== undefined) {
      start = this.spanStart(t, busyNs + (idleNs ?? 0));
      startPos = pos;
    } else {
      this.counters.pollEndsWithoutStart++;
      return;
    }
    // A span's own busy time, but no longer than the log shows since the cycle's start.
    const shownNs = Math.max(0, diffNs(start, t));
    const durationNs = busyNs === undefined || busyNs > shownNs ? shownNs : busyNs;
    const res = resolutionNs(t.digits);
    this.sink.pollCycle?.({ start, end: t, durationNs, ready, thread, imprecise: durationNs < res, pos: startPos });
    const lower = durationNs - res;
    if (lower >= this.thresholds.blockedPollNs) {
      this.stall('blocked_poll', start, t, startPos, 'a swarm poll cycle did not return');
    } else if (lower >= this.thresholds.slowPollNs) {
      this.stall('slow_poll', start, t, startPos, 'a swarm poll cycle was slow');
    }
  }

  private stall(kind: StallKind, start: LogTime, end: LogTime, pos: SourcePos, detail: string): void {
    if (kind !== 'slow_poll') {
      const last = this.lastStallEnd;
      if (last !== null && diffNs(start, last) > 0) {
        // It began inside the stall before it (another thread's poll, a line stamped µs early, a
        // span timing reaching back): a stretch of log time is one stall at most, so only what
        // follows that stall counts, and only if that still reaches the threshold.
        if (diffNs(last, end) - resolutionNs(end.digits) < this.thresholdOf(kind)) {
          this.counters.overlappingStalls++;
          return;
        }
        start = last;
      }
      this.lastStallEnd = end;
    }
    this.sink.stall?.({ kind, start, end, durationNs: diffNs(start, end), pos, detail });
  }

  private thresholdOf(kind: Exclude<StallKind, 'slow_poll'>): number {
    const t = this.thresholds;
    return kind === 'blocked_poll' ? t.blockedPollNs : kind === 'starved' ? t.starvedNs : t.silentNs;
  }

  /**
   * When pending readiness starts counting as starvation: at the wake, or after a stall already
   * reported from that stretch — a wake followed by silence is one `silent` stall, not also a
   * `starved` one once the wait's end reveals the readiness.
   */
  private starvedSince(r: { at: LogTime }): LogTime {
    return this.lastStallEnd !== null && diffNs(r.at, this.lastStallEnd) > 0 ? this.lastStallEnd : r.at;
  }

  /** End of input: whatever is still open is unfinished, with how much log time followed it. */
  finish(): void {
    this.clock.finish();
    this.waits.resolveAtEnd();
    const last = this.clock.nowTime();
    const followed = (since: LogTime): number => Math.max(0, diffNs(since, last));
    this.waits.finish(last);
    for (const poll of this.polls.values()) {
      this.sink.unfinished?.({
        what: 'poll',
        since: poll.start,
        followedByNs: followed(poll.start),
        pos: poll.pos,
        detail: `swarm poll cycle${poll.thread ? ` on thread ${poll.thread}` : ''} had not returned when the log ended`,
      });
    }
    this.polls.clear();
    if (this.readiness !== null) {
      const r = this.readiness;
      this.sink.unfinished?.({
        what: 'readiness',
        since: r.at,
        followedByNs: followed(r.at),
        pos: r.pos,
        detail: 'epoll reported I/O readiness and no swarm poll followed before the log ended',
      });
      this.readiness = null;
    }
    this.connections.finish(last);
  }
}
