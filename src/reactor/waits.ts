/**
 * The reactor model's epoll waits: per-poller wait state machines, the fork's interest and
 * notifier lines, and the wake reason of each finished wait — held back for async-io's verdict
 * when polling 2.x logs no keys (log-formats.md 6.3). The model coordinates: it owns the swarm's
 * poll cycles and readiness, and is called back for what a finished wait means to them.
 */
import type { ReactorEvent, PollerKind } from '../decode/events.js';
import { NOTIFY_KEY } from '../decode/events.js';
import { diffNs, resolutionNs, type LogTime } from '../time.js';
import type { LogClock } from './clock.js';
import { requestedMask } from './flags.js';
import type { ModelCounters } from './model.js';
import type { ObservationSink, SourcePos, WaitObservation } from './observations.js';
import {
  classify,
  formatTimeout,
  openWait,
  PollerState,
  type OpenWait,
  type PendingClassification,
} from './wait-state.js';

const SECOND_PROCESS_TIMERS_WINDOW = 64; // lines to wait for async-io's react verdict

/** What the waits need from the model that coordinates them (bound once, in its constructor). */
export interface WaitHost {
  /** Swarm poll starts so far, in file order. */
  pollStarts(): number;
  /** Log time from the swarm's last poll end in this clock segment to `wake` (null while a poll is open or none ended). */
  sincePollEndNs(wake: LogTime): number | null;
  /** A classified wait: to the sink, and its readiness to the swarm model. */
  emit(obs: WaitObservation, pollStartsAtEnd: number): void;
  /** A wait whose start the log did not show: the quiet stretch before it was that wait, not a silence. */
  midWait(): void;
}

export class Waits {
  private readonly pollers = new Map<number, PollerState>();
  private pending: PendingClassification | null = null;
  /** Most recent poller whose wait woke: the fork's `wait: list[i]` lines carry no fd. */
  private lastWoken: PollerState | null = null;
  /** A reactor (epoll) line was seen: silences are measured only then. */
  reactorSeen = false;

  constructor(
    private readonly sink: ObservationSink,
    private readonly counters: ModelCounters,
    private readonly clock: LogClock,
    private readonly host: WaitHost,
  ) {}

  /** Is a wait blocked in epoll right now (started, not woken)? */
  waiting(): boolean {
    for (const p of this.pollers.values()) if (p.open !== null && p.open.wake === null) return true;
    return false;
  }

  /**
   * The clock stepped to `at`: what the step line itself opened moves to its own time; a wait
   * open before loses its start (its end is then a wait whose start the log did not show).
   */
  cutAtClockStep(at: LogTime): void {
    if (this.pending !== null) this.resolvePending();
    for (const p of this.pollers.values()) {
      const w = p.open;
      if (w === null) continue;
      if (w.start !== null && this.clock.isJumpLine(w.pos)) {
        w.start = at;
        if (w.wake !== null) w.wake = at;
        continue;
      }
      // Its end, when it comes, is a wait whose start the log did not show.
      this.counters.cutByClockStep++;
      p.open = null;
      if (this.lastWoken === p) this.lastWoken = null;
    }
  }

  /** After each record: async-io's verdict is awaited for a bounded number of lines. */
  afterRecord(): void {
    if (this.pending !== null && --this.pending.linesLeft <= 0) this.resolvePending();
  }

  waitStart(ev: Extract<ReactorEvent, { kind: 'wait_start' }>, t: LogTime, pos: SourcePos, thread: string): void {
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

  waitWake(ev: Extract<ReactorEvent, { kind: 'wait_wake' }>, t: LogTime, pos: SourcePos): void {
    this.reactorSeen = true;
    const p = this.poller('epoll', ev.fd);
    const w = p.open ?? this.openMidWait(p, pos);
    w.wake = t;
    w.res = ev.res;
    this.lastWoken = p;
  }

  waitReady(ev: Extract<ReactorEvent, { kind: 'wait_ready' }>): void {
    const p = ev.fd !== null ? this.pollers.get(ev.fd) : this.lastWoken;
    if (p?.open)
      p.open.ready.push({
        key: ev.key,
        flags: ev.flags,
        fd: ev.key === NOTIFY_KEY ? null : (p.keyToFd.get(ev.key) ?? null),
      });
  }

  waitEnd(ev: Extract<ReactorEvent, { kind: 'wait_end' }>, t: LogTime, pos: SourcePos, thread: string): void {
    this.reactorSeen = true;
    const p = this.poller(ev.poller, ev.fd);
    if (p.open === null) {
      if (ev.busyNs !== undefined) {
        // FmtSpan close: the span's own timing gives the start (log-formats.md 5.3).
        p.open = openWait(this.clock.spanStart(t, ev.busyNs + (ev.idleNs ?? 0)), pos, undefined, thread, null);
      } else {
        this.openMidWait(p, pos);
      }
    }
    const w = p.open!;
    this.finishWait(p, w.wake ?? t, ev.res ?? w.res, t, thread, ev.busyNs);
  }

  notify(ev: Extract<ReactorEvent, { kind: 'notify' }>): void {
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
    this.host.midWait();
    p.open = openWait(null, pos, undefined, '', this.clock.gapBeforeNs);
    return p.open;
  }

  interest(ev: Extract<ReactorEvent, { kind: 'interest' }>): void {
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
        ? Math.min(busyNs, Math.max(0, diffNs(w.start ?? this.clock.spanStart(wake, busyNs), wake)))
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
      sincePollEndNs: this.host.sincePollEndNs(wake),
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
        pollStarts: this.host.pollStarts(),
      };
      return;
    }
    obs.reasons = classify(obs, w.notified, w.drained, null);
    this.host.emit(obs, this.host.pollStarts());
  }

  /** verdict: async-io's `react:` closed the cycle; otherwise (new wait, window passed, end of input) it was not seen. */
  private resolvePending(verdict = false): void {
    const pc = this.pending!;
    this.pending = null;
    pc.obs.reasons = classify(pc.obs, pc.notified, null, verdict ? (pc.noUserEvents ? 'no_io' : 'io') : null);
    this.host.emit(pc.obs, pc.pollStarts);
  }

  pollerNew(ev: Extract<ReactorEvent, { kind: 'poller_new' }>): void {
    const p = this.poller(ev.poller, ev.fd);
    p.eventFd = ev.eventFd;
    p.timerFd = ev.timerFd;
  }

  notifyDrained(ev: Extract<ReactorEvent, { kind: 'notify_drained' }>): void {
    const w = this.pollers.get(ev.fd)?.open;
    if (w) w.drained = ev.pending;
  }

  /** A second process_timers after the wait ended and before react: no user events returned. */
  timersProcessed(): void {
    if (this.pending !== null) this.pending.noUserEvents = true;
  }

  reactDone(): void {
    if (this.pending !== null) this.resolvePending(true);
  }

  /** End of input: a wait held for async-io's verdict is classified without it. */
  resolveAtEnd(): void {
    if (this.pending !== null) this.resolvePending();
  }

  /** End of input: open waits are unfinished, with how much log time followed them up to `last`. */
  finish(last: LogTime): void {
    for (const p of this.pollers.values()) {
      const w = p.open;
      if (w === null) continue;
      const since = w.start ?? w.wake!;
      this.sink.unfinished?.({
        what: 'wait',
        since,
        followedByNs: Math.max(0, diffNs(since, last)),
        fd: p.fd,
        pos: w.pos,
        detail:
          w.wake !== null
            ? `epoll_fd ${p.fd}: woke (res=${w.res}) but the wait's end was not logged`
            : `epoll_fd ${p.fd}: waiting (timeout ${formatTimeout(w.timeoutNs)}) when the log ended`,
      });
      p.open = null;
    }
  }
}
