/**
 * The reactor model: per-poller wait state machines, per-thread swarm poll cycles, readiness
 * tracking and stall detection (log-formats.md section 6). It is fed decoded events in file
 * order and turns them into observations. It never reads the wall clock: every time is the log's.
 */
import type { ReactorEvent, ReactorEventSink, PollerKind } from '../decode/events.js';
import { NOTIFY_KEY } from '../decode/events.js';
import type { LogRecord } from '../parse/record.js';
import { addNs, diffNs, logTime, NS_PER_SEC, resolutionNs, type LogTime } from '../time.js';
import { requestedMask } from './flags.js';
import { ConnectionModel } from './connections.js';
import {
  classify,
  formatTimeout,
  openWait,
  PollerState,
  type OpenPoll,
  type OpenWait,
  type PendingClassification,
} from './wait-state.js';
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
   * restarts from the new value (a new segment, see clock steps below).
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

const SECOND_PROCESS_TIMERS_WINDOW = 64; // lines to wait for async-io's react verdict
/** Lines stamped before they are written go back by µs, at most ms; beyond this it is a clock step. */
const MAX_INVERSION_NS = 1_000_000_000;
/**
 * A forward step between two lines longer than this is the clock (or a joined log) jumping, not a
 * silence: nothing is measured across it.
 */
export const MAX_FORWARD_STEP_NS = 86_400 * NS_PER_SEC;

export class ReactorModel implements ReactorEventSink {
  private readonly pollers = new Map<number, PollerState>();
  private readonly polls = new Map<string, OpenPoll>();
  private pending: PendingClassification | null = null;
  /** Most recent poller whose wait woke: the fork's `wait: list[i]` lines carry no fd. */
  private lastWoken: PollerState | null = null;

  /** Latest log time seen (lines may go back in time by µs across threads: never sort). Kept as numbers: set per line. */
  private hasNow = false;
  private nowSec = 0;
  private nowNsec = 0;
  private nowDigits = 0;
  /** Log time between the previous line and the current one (null before the second timed line). */
  private gapBeforeNs: number | null = null;
  /** Position of the previous record (a silence is placed at the line before it). */
  private prevFile = '';
  private prevLine = 0;
  private prevOffset = 0;
  /** The current record's own time is used (it has one and it is not a clock jump); else it counts as `now`. */
  private recTimed = false;
  /**
   * First trusted time of the current clock segment (the log's start, or the line a confirmed clock
   * step moved to): span timings (`time.busy`) never reach back before it.
   */
  private segSec = 0;
  private segNsec = 0;
  /** A line outside the plausible window of `now`: an outlier or the first line after a clock step. */
  private hasJump = false;
  private jumpSec = 0;
  private jumpNsec = 0;
  private jumpDigits = 0;
  private jumpLine = 0;
  private jumpFile = '';
  /** Events came from lines without a time before any line had one (they carry time 0). */
  private untimedEvents = false;
  /** The swarm's last poll end in this clock segment (lastPollEnd, but cut at clock steps). */
  private segPollEnd: LogTime | null = null;
  private silentCandidate: { start: LogTime; end: LogTime; pos: SourcePos } | null = null;
  /** A gap in a span-based relay's log (no reactor lines): reported as quiet unless a stall explains it. */
  private quietCandidate: { start: LogTime; end: LogTime; pos: SourcePos } | null = null;
  /** Poll spans and connections of span-based relays (rust-libp2p ≥ 0.53 on tokio). */
  readonly connections: ConnectionModel;

  private reactorSeen = false;
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
    // The same thresholds object: a SIGHUP reload changes it in place for both.
    this.connections = new ConnectionModel(
      sink,
      thresholds,
      (kind, start, end, pos, detail) => this.stall(kind, start, end, pos, detail),
      (end, totalNs) => this.spanStart(end, totalNs),
    );
  }

  /**
   * Called for every record, decoded or not, before its events: advances log time and finds
   * silences (a gap between two lines while the reactor was neither waiting nor polling).
   */
  advance(rec: LogRecord): void {
    // Per line: numbers only; a LogTime is made when something needs to keep the time.
    if (!rec.hasTime) {
      this.recTimed = false;
      return;
    }
    if (!this.hasNow) {
      this.hasNow = true;
      this.recTimed = true;
      this.setNow(rec);
      this.segSec = rec.sec;
      this.segNsec = rec.nsec;
      // Lines without a time before this one were placed at 1970: nothing is measured from them.
      if (this.untimedEvents) {
        // (Stalls stay in order: the 1970 ones end before anything a real log holds.)
        const lastStallEnd = this.lastStallEnd;
        this.cutAtClockStep(this.nowTime());
        this.lastStallEnd = lastStallEnd;
      }
      return;
    }
    const gap = (rec.sec - this.nowSec) * NS_PER_SEC + (rec.nsec - this.nowNsec);
    // `!(a && b)`: a NaN gap (no valid time) is outside the window too.
    if (!(gap >= -MAX_INVERSION_NS && gap <= MAX_FORWARD_STEP_NS)) {
      this.clockStep(rec);
      return;
    }
    this.recTimed = true;
    if (this.hasJump) {
      // The line before was far from both neighbours: its time was wrong, not the clock.
      this.hasJump = false;
      this.counters.clockOutliers++;
    }
    this.timedGap(rec, gap);
  }

  /** A plausible step (−1 s … +1 day) from `now` to rec's time: inversions and silences. */
  private timedGap(rec: LogRecord, gap: number): void {
    if (gap < 0) {
      this.gapBeforeNs = 0;
      this.counters.timeInversions++;
      if (-gap > this.counters.maxInversionNs) this.counters.maxInversionNs = -gap;
      return;
    }
    this.gapBeforeNs = gap;
    if (
      gap - resolutionNs(Math.min(this.nowDigits, rec.digits)) >= this.thresholds.silentNs &&
      this.reactorSeen &&
      this.stateAt() === 'running'
    ) {
      this.silentCandidate = {
        start: this.nowTime(),
        end: logTime(rec.sec, rec.nsec, rec.digits),
        pos: { file: this.prevFile, line: this.prevLine, offset: this.prevOffset },
      };
    } else if (
      !this.reactorSeen &&
      this.polls.size === 0 && // inside an open Swarm::poll the poll model reports the gap (blocked_poll)
      this.connections.openCount > 0 &&
      gap - resolutionNs(Math.min(this.nowDigits, rec.digits)) >= this.thresholds.silentNs
    ) {
      this.quietCandidate = {
        start: this.nowTime(),
        end: logTime(rec.sec, rec.nsec, rec.digits),
        pos: { file: this.prevFile, line: this.prevLine, offset: this.prevOffset },
      };
    }
    this.setNow(rec);
  }

  /**
   * rec's time is outside the plausible window of `now` (> 1 s back, > 1 day ahead). One line
   * cannot tell an outlier from a clock step, the next one can: until then the line counts as
   * logged at `now`. A second line near the first confirms a step: what was open is not measured
   * across it (cutAtClockStep) and log time restarts there.
   */
  private clockStep(rec: LogRecord): void {
    this.recTimed = false;
    this.gapBeforeNs = null;
    this.silentCandidate = null;
    if (this.hasJump) {
      const fromJump = (rec.sec - this.jumpSec) * NS_PER_SEC + (rec.nsec - this.jumpNsec);
      if (fromJump >= -MAX_INVERSION_NS && fromJump <= MAX_FORWARD_STEP_NS) {
        this.hasJump = false;
        if (this.jumpSec < this.nowSec) this.counters.clockJumpsBack++;
        else this.counters.clockJumpsForward++;
        const at = logTime(this.jumpSec, this.jumpNsec, this.jumpDigits);
        this.cutAtClockStep(at);
        this.nowSec = at.sec;
        this.nowNsec = at.nsec;
        this.nowDigits = at.digits;
        this.segSec = at.sec;
        this.segNsec = at.nsec;
        this.recTimed = true;
        this.timedGap(rec, fromJump);
        return;
      }
      // Far from `now` and from the line before: that one was an outlier; this one may be a step.
      this.counters.clockOutliers++;
    }
    this.hasJump = true;
    this.jumpSec = rec.sec;
    this.jumpNsec = rec.nsec;
    this.jumpDigits = rec.digits;
    this.jumpLine = rec.line;
    this.jumpFile = rec.file;
  }

  /** Was the pending clock-jump line the one at `pos`? (Its events were applied at the time before it.) */
  private isJumpLine(pos: SourcePos): boolean {
    return pos.line === this.jumpLine && pos.file === this.jumpFile;
  }

  /**
   * The clock stepped to `at` (confirmed by the line after it): nothing is measured across the step.
   * What the step line itself opened moves to its own time; what was open before loses its start
   * (a wait then ends with its start unknown; a poll end finds no start; readiness is dropped).
   */
  private cutAtClockStep(at: LogTime): void {
    if (this.pending !== null) this.resolvePending();
    for (const p of this.pollers.values()) {
      const w = p.open;
      if (w === null) continue;
      if (w.start !== null && this.isJumpLine(w.pos)) {
        w.start = at;
        if (w.wake !== null) w.wake = at;
        continue;
      }
      // Its end, when it comes, is a wait whose start the log did not show.
      this.counters.cutByClockStep++;
      p.open = null;
      if (this.lastWoken === p) this.lastWoken = null;
    }
    for (const [thread, poll] of this.polls) {
      if (this.isJumpLine(poll.pos)) poll.start = at;
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
   * before the clock segment's first line: the log cannot vouch for time it does not cover. With
   * no timestamps at all (segment unknown) a span is taken up to a day. Public for other span
   * consumers of the same log (span-based poll models) to apply the same rule.
   */
  spanStart(end: LogTime, totalNs: number): LogTime {
    const covered = this.hasNow
      ? Math.max(0, (end.sec - this.segSec) * NS_PER_SEC + (end.nsec - this.segNsec))
      : MAX_FORWARD_STEP_NS;
    return addNs(end, -(totalNs > covered ? covered : totalNs));
  }

  private setNow(rec: LogRecord): void {
    this.nowSec = rec.sec;
    this.nowNsec = rec.nsec;
    this.nowDigits = rec.digits;
  }

  private nowTime(): LogTime {
    return logTime(this.nowSec, this.nowNsec, this.nowDigits);
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
    if (this.pending !== null && --this.pending.linesLeft <= 0) this.resolvePending();
    this.prevFile = rec.file;
    this.prevLine = rec.line;
    this.prevOffset = rec.offset;
  }

  /** Current state, as a live watchdog needs it. */
  stateAt(): ReactorState {
    if (this.polls.size > 0) return 'polling';
    for (const p of this.pollers.values()) if (p.open !== null && p.open.wake === null) return 'waiting';
    if (this.readiness !== null) return 'readiness_pending';
    return this.reactorSeen ? 'running' : 'unknown';
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
    for (const p of this.pollers.values()) if (p.open !== null && p.open.wake === null) return null;
    if (!this.reactorSeen || !this.hasNow) return null;
    return {
      state: 'running',
      since: this.nowTime(),
      pos: { file: this.prevFile, line: this.prevLine, offset: this.prevOffset },
    };
  }

  event(ev: ReactorEvent, rec: LogRecord): void {
    const t = this.recTimed ? logTime(rec.sec, rec.nsec, rec.digits) : this.nowTime();
    if (!this.hasNow) this.untimedEvents = true;
    const pos: SourcePos = { file: rec.file, line: rec.line, offset: rec.offset };
    const thread = 'tid' in ev && ev.tid ? ev.tid : rec.thread;
    switch (ev.kind) {
      case 'wait_start':
        this.waitStart(ev, t, pos, thread);
        break;
      case 'wait_block':
        break;
      case 'wait_wake':
        this.waitWake(ev, t, pos);
        break;
      case 'wait_ready':
        this.waitReady(ev);
        break;
      case 'wait_end':
        this.waitEnd(ev, t, pos, thread);
        break;
      case 'interest':
        this.interest(ev);
        break;
      case 'poller_new': {
        const p = this.poller(ev.poller, ev.fd);
        p.eventFd = ev.eventFd;
        p.timerFd = ev.timerFd;
        break;
      }
      case 'notify':
        this.notify(ev);
        break;
      case 'notify_drained': {
        const w = this.pollers.get(ev.fd)?.open;
        if (w) w.drained = ev.pending;
        break;
      }
      case 'timers_processed':
        // A second process_timers after the wait ended and before react: no user events returned.
        if (this.pending !== null) this.pending.noUserEvents = true;
        break;
      case 'react_done':
        if (this.pending !== null) this.resolvePending(true);
        break;
      case 'io_runner':
        break;
      case 'poll_start':
        this.pollStart(t, pos, thread);
        break;
      case 'poll_end':
        this.pollEnd(t, pos, thread, ev.ready, ev.busyNs, ev.idleNs);
        break;
      case 'span':
        this.connections.span(ev, t, pos, thread);
        break;
      case 'connection':
        this.connections.connection(ev, t);
        break;
      case 'connection_activity':
        this.connections.activity(ev.conn, t, pos);
        break;
    }
  }

  private waitStart(
    ev: Extract<ReactorEvent, { kind: 'wait_start' }>,
    t: LogTime,
    pos: SourcePos,
    thread: string,
  ): void {
    this.reactorSeen = true;
    const p = this.poller(ev.poller, ev.fd);
    if (this.pending !== null && this.pending.obs.fd === ev.fd) this.resolvePending();
    if (p.open !== null) {
      if (p.open.wake !== null) this.finishWait(p, p.open.wake, p.open.res, p.open.wake, thread, undefined);
      else this.counters.waitStartsWithoutEnd++;
    }
    p.open = openWait(t, pos, ev.timeoutNs, thread, null);
    p.open.notified = p.notifiedSinceEnd;
    p.notifiedSinceEnd = false;
  }

  private waitWake(ev: Extract<ReactorEvent, { kind: 'wait_wake' }>, t: LogTime, pos: SourcePos): void {
    this.reactorSeen = true;
    const p = this.poller('epoll', ev.fd);
    const w = p.open ?? this.openMidWait(p, pos);
    w.wake = t;
    w.res = ev.res;
    this.lastWoken = p;
  }

  private waitReady(ev: Extract<ReactorEvent, { kind: 'wait_ready' }>): void {
    const p = ev.fd !== null ? this.pollers.get(ev.fd) : this.lastWoken;
    if (p?.open)
      p.open.ready.push({
        key: ev.key,
        flags: ev.flags,
        fd: ev.key === NOTIFY_KEY ? null : (p.keyToFd.get(ev.key) ?? null),
      });
  }

  private waitEnd(ev: Extract<ReactorEvent, { kind: 'wait_end' }>, t: LogTime, pos: SourcePos, thread: string): void {
    this.reactorSeen = true;
    const p = this.poller(ev.poller, ev.fd);
    if (p.open === null) {
      if (ev.busyNs !== undefined) {
        // FmtSpan close: the span's own timing gives the start (log-formats.md 5.3).
        p.open = openWait(this.spanStart(t, ev.busyNs + (ev.idleNs ?? 0)), pos, undefined, thread, null);
      } else {
        this.openMidWait(p, pos);
      }
    }
    const w = p.open!;
    this.finishWait(p, w.wake ?? t, ev.res ?? w.res, t, thread, ev.busyNs);
  }

  private notify(ev: Extract<ReactorEvent, { kind: 'notify' }>): void {
    if (ev.fd === null) return; // `Poller::notify()` is the API entry, logged even for no-ops
    const p = this.poller('epoll', ev.fd);
    if (p.open !== null && p.open.wake === null) p.open.notified = true;
    else p.notifiedSinceEnd = true;
    if (this.pending !== null && this.pending.obs.fd === ev.fd && p.open === null) this.pending.notified = true;
  }

  private poller(kind: PollerKind, fd: number): PollerState {
    let p = this.pollers.get(fd);
    if (p === undefined) {
      p = new PollerState(kind, fd);
      this.pollers.set(fd, p);
    }
    return p;
  }

  /** A wake or end for a wait whose start we never saw (log began mid-wait; polling 3.x logs no start). */
  private openMidWait(p: PollerState, pos: SourcePos): OpenWait {
    this.counters.waitEndsWithoutStart++;
    // The quiet stretch before this line was this wait, not a silence.
    this.silentCandidate = null;
    p.open = openWait(null, pos, undefined, '', this.gapBeforeNs);
    return p.open;
  }

  private interest(ev: Extract<ReactorEvent, { kind: 'interest' }>): void {
    const p = this.poller('epoll', ev.fd);
    if (ev.targetFd !== null && ev.key !== null) {
      if (ev.op === 'delete') p.keyToFd.delete(ev.key);
      else if (ev.key !== NOTIFY_KEY) p.keyToFd.set(ev.key, ev.targetFd);
    }
    if (ev.op === 'delete' || ev.key !== NOTIFY_KEY) return;
    const w = p.open;
    if (w !== null && ev.tid) w.tidSeen = ev.tid;
    if (w === null) {
      // polling 2.x: the key-MAX modify right after a wait ended is the eventfd re-arm.
      if (ev.targetFd !== null && this.pending?.obs.fd === ev.fd) {
        p.eventFd = ev.targetFd;
        const flags = ev.flags ?? (ev.readable !== undefined ? requestedMask(ev.readable, ev.writable ?? false) : null);
        if (this.pending.obs.notifierRearm === null) this.pending.obs.notifierRearm = { fd: ev.targetFd, flags };
      }
      return;
    }
    if (w.wake === null) {
      // Before the wake: the timerfd armed for this wait (polling 2.x), block starts right after.
      if (ev.targetFd !== null && p.timerFd === null && ev.targetFd !== p.eventFd) p.timerFd = ev.targetFd;
      return;
    }
    // After the wake: the notifier (eventfd) re-armed; keep the literal requested mask when logged.
    const flags = ev.flags ?? (ev.readable !== undefined ? requestedMask(ev.readable, ev.writable ?? false) : null);
    if (w.rearm === null) w.rearm = { fd: ev.targetFd, flags };
    else {
      if (w.rearm.fd === null) w.rearm.fd = ev.targetFd;
      if (ev.flags !== null) w.rearm.flags = ev.flags;
    }
    if (ev.targetFd !== null) p.eventFd = ev.targetFd;
  }

  private finishWait(
    p: PollerState,
    wake: LogTime,
    res: number | null,
    end: LogTime,
    thread: string,
    busyNs: number | undefined,
  ): void {
    const w = p.open!;
    p.open = null;
    if (this.lastWoken === p) this.lastWoken = null;
    // A span's own busy time, but no longer than the log shows since the wait's start (or, start
    // unknown, since the segment's first line).
    const durationNs =
      busyNs !== undefined
        ? Math.min(busyNs, Math.max(0, diffNs(w.start ?? this.spanStart(wake, busyNs), wake)))
        : w.start !== null
          ? Math.max(0, diffNs(w.start, wake))
          : null;
    const mismatch = w.startThread !== '' && thread !== '' && w.startThread !== thread;
    if (mismatch) this.counters.threadMismatches++;
    const obs: WaitObservation = {
      poller: p.kind,
      fd: p.fd,
      start: w.start,
      wake,
      end,
      durationNs,
      gapBeforeNs: w.gapBeforeNs,
      sincePollEndNs:
        this.polls.size === 0 && this.segPollEnd !== null ? Math.max(0, diffNs(this.segPollEnd, wake)) : null,
      timeoutNs: w.timeoutNs,
      res,
      reasons: [],
      ready: w.ready,
      notifierRearm: w.rearm,
      thread: thread || w.startThread || w.tidSeen,
      threadMismatch: mismatch,
      imprecise: durationNs !== null && durationNs < resolutionNs(wake.digits),
      pos: w.pos,
    };
    if (p.eventFd !== null && obs.notifierRearm && obs.notifierRearm.fd === null) obs.notifierRearm.fd = p.eventFd;
    const needsAsyncIo = w.ready.length === 0 && res !== null && res > 0 && w.drained === null;
    if (this.pending !== null) this.resolvePending();
    if (needsAsyncIo) {
      // polling 2.x does not log keys: async-io's next lines tell whether user events came back.
      this.pending = {
        obs,
        notified: w.notified,
        noUserEvents: false,
        linesLeft: SECOND_PROCESS_TIMERS_WINDOW,
        pollStarts: this.pollStarts,
      };
      return;
    }
    obs.reasons = classify(obs, w.notified, w.drained, null);
    this.emitWait(obs);
  }

  /** verdict: async-io's `react:` closed the cycle; otherwise (new wait, window passed, end of input) it was not seen. */
  private resolvePending(verdict = false): void {
    const pc = this.pending!;
    this.pending = null;
    pc.obs.reasons = classify(pc.obs, pc.notified, null, verdict ? (pc.noUserEvents ? 'no_io' : 'io') : null);
    this.emitWait(pc.obs, pc.pollStarts);
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
    if (this.hasJump) {
      // The last timed line was far from the one before and nothing followed to confirm a step.
      this.hasJump = false;
      this.counters.clockOutliers++;
    }
    if (this.pending !== null) this.resolvePending();
    const last = this.nowTime();
    const followed = (since: LogTime): number => Math.max(0, diffNs(since, last));
    for (const p of this.pollers.values()) {
      const w = p.open;
      if (w === null) continue;
      const since = w.start ?? w.wake!;
      this.sink.unfinished?.({
        what: 'wait',
        since,
        followedByNs: followed(since),
        fd: p.fd,
        pos: w.pos,
        detail:
          w.wake !== null
            ? `epoll_fd ${p.fd}: woke (res=${w.res}) but the wait's end was not logged`
            : `epoll_fd ${p.fd}: waiting (timeout ${formatTimeout(w.timeoutNs)}) when the log ended`,
      });
      p.open = null;
    }
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
