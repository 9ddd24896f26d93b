/**
 * Live stall detection for `pollscope run`. The reactor model only learns that a stall ended
 * when the next line arrives; a stalled relay may write nothing at all. The watchdog looks at the
 * model's state on a wall-clock tick and raises an *active* stall once the relay has been stuck
 * for the threshold — in a poll cycle (blocked_poll), with I/O readiness and no poll (starved),
 * or running with nothing logged (silent) — keeps its duration current, and closes it when the
 * model emits the stall observation (the same one replay emits) or when the log shows there was
 * none after all. It never emits a StallObservation itself: the model stays the only source.
 *
 * "Now" is the relay's log time, estimated from our wall clock and the offset between the two
 * observed on recent lines (see ClockOffset), so a relay whose clock differs from ours, or whose
 * log reaches us late, does not look stalled.
 */
import type { ReactorModel, Thresholds } from './model.js';
import type { ActiveStallObservation, ObservationSink, StallObservation } from './observations.js';
import { compareTime, formatDuration, formatTime, NS_PER_SEC } from '../time.js';

/** Offset samples are kept in two buckets of this length: the estimate forgets a burst of late lines within 2 buckets. */
const BUCKET_MS = 5_000;

/**
 * Wall time minus log time, as seen when lines arrive. Each sample also contains how late the
 * line reached us (writer buffering, our poll interval); the estimate is the largest recent
 * sample, so "log time now" is never ahead of what the relay could have logged by now: a
 * stall is raised late by at most that delay, never faked by it. Old samples age out (a backlog
 * read at startup, a buffer that stopped being late).
 */
export class ClockOffset {
  private current = Number.NEGATIVE_INFINITY;
  private previous = Number.NEGATIVE_INFINITY;
  private bucketStart = Number.NaN;
  /** First sample (what the first lines said), for status output. */
  first = Number.NaN;

  /** wallMs: when the line was read; logSec: its log time (unix seconds). */
  sample(wallMs: number, logSec: number): void {
    if (!Number.isFinite(logSec)) return;
    const offset = wallMs / 1000 - logSec;
    if (Number.isNaN(this.first)) this.first = offset;
    if (Number.isNaN(this.bucketStart)) this.bucketStart = wallMs;
    while (wallMs - this.bucketStart >= BUCKET_MS) {
      this.previous = this.current;
      this.current = Number.NEGATIVE_INFINITY;
      this.bucketStart += BUCKET_MS;
      if (wallMs - this.bucketStart >= BUCKET_MS) {
        this.previous = Number.NEGATIVE_INFINITY;
        this.bucketStart = wallMs;
      }
    }
    if (offset > this.current) this.current = offset;
  }

  /** Seconds: wall − log (NaN before the first sample). */
  get offsetSec(): number {
    const o = Math.max(this.current, this.previous);
    return o === Number.NEGATIVE_INFINITY ? Number.NaN : o;
  }

  /** The relay's log time now (unix seconds), NaN before the first sample. */
  logNowSec(wallMs: number): number {
    return wallMs / 1000 - this.offsetSec;
  }
}

export type ActiveKind = ActiveStallObservation['kind'];

const KIND_BY_STATE = { polling: 'blocked_poll', readiness_pending: 'starved', running: 'silent' } as const;

/** How an active stall ended. */
export type StallClose =
  | { how: 'observed'; stall: StallObservation }
  /** The log showed the stuck state ended without a stall (e.g. the poll took less than the threshold in log time). */
  | { how: 'cleared' };

export interface WatchdogListener {
  started(relay: string, a: ActiveStallObservation): void;
  ended(relay: string, a: ActiveStallObservation, close: StallClose): void;
  /** A stall the model found that was never raised live (its lines were read late, e.g. a backlog). */
  unraised?(relay: string, s: StallObservation): void;
}

/** One relay's watchdog. Add `sink` to the relay's pipeline sinks; call `tick()` on a wall-clock timer. */
export class StallWatchdog {
  readonly clock = new ClockOffset();
  private active: ActiveStallObservation | null = null;
  /** Sinks told about the active stall (the exporters' `activeStall` hooks). */
  readonly sinks: ObservationSink[] = [];
  /** Stalls raised live, by kind (confirmed or not). */
  readonly raised: Record<ActiveKind, number> = { blocked_poll: 0, starved: 0, silent: 0 };
  cleared = 0;

  /** The pipeline sink: closes the active stall when the model emits it. */
  readonly sink: ObservationSink = {
    stall: (s) => {
      const a = this.active;
      if (a !== null && s.kind === a.kind && compareTime(s.start, a.start) === 0)
        this.close({ how: 'observed', stall: s });
      else if (s.kind !== 'slow_poll') this.listener.unraised?.(this.relay, s);
    },
  };

  constructor(
    readonly relay: string,
    private readonly model: ReactorModel,
    private readonly thresholds: Thresholds,
    private readonly listener: WatchdogListener,
  ) {}

  get current(): ActiveStallObservation | null {
    return this.active;
  }

  tick(wallMs: number): void {
    const stuck = this.model.stuckSince();
    const a = this.active;
    if (stuck === null) {
      if (a !== null) this.close({ how: 'cleared' });
      return;
    }
    const kind = KIND_BY_STATE[stuck.state];
    if (a !== null && (a.kind !== kind || compareTime(a.start, stuck.since) !== 0)) this.close({ how: 'cleared' });
    const nowSec = this.clock.logNowSec(wallMs);
    if (Number.isNaN(nowSec)) return;
    const durationNs = Math.round((nowSec - stuck.since.sec) * NS_PER_SEC) - stuck.since.nsec;
    if (this.active !== null) {
      this.active.durationNs = Math.max(this.active.durationNs, durationNs);
      for (const s of this.sinks) s.activeStall?.(this.active);
      return;
    }
    if (durationNs < this.threshold(kind)) return;
    const raised: ActiveStallObservation = { kind, start: stuck.since, durationNs, pos: stuck.pos };
    this.active = raised;
    this.raised[kind]++;
    this.listener.started(this.relay, raised);
    for (const s of this.sinks) s.activeStall?.(raised);
  }

  private threshold(kind: ActiveKind): number {
    return kind === 'blocked_poll'
      ? this.thresholds.blockedPollNs
      : kind === 'starved'
        ? this.thresholds.starvedNs
        : this.thresholds.silentNs;
  }

  private close(how: StallClose): void {
    const a = this.active!;
    this.active = null;
    if (how.how === 'cleared') this.cleared++;
    this.listener.ended(this.relay, a, how);
    for (const s of this.sinks) s.activeStall?.(null);
  }
}

/**
 * The daemon's own stall lines on stderr, one per live stall start and end, beside what the
 * exporters show (relay_poll_stall_active_seconds): what an operator reads in the log.
 */
export function stderrStallListener(write: (line: string) => void): WatchdogListener {
  const where = (a: { pos: { file: string; line: number } }): string => `${a.pos.file}:${a.pos.line}`;
  return {
    started(relay, a) {
      write(
        `pollscope: [${relay}] stall started: ${a.kind} since ${formatTime(a.start)} (${formatDuration(a.durationNs)} without progress so far) ${where(a)}\n`,
      );
    },
    ended(relay, a, close) {
      if (close.how === 'observed') {
        const s = close.stall;
        write(
          `pollscope: [${relay}] stall ended: ${s.kind} ${formatDuration(s.durationNs)} from ${formatTime(s.start)} to ${formatTime(s.end)}: ${s.detail}\n`,
        );
      } else {
        write(
          `pollscope: [${relay}] stall cleared: ${a.kind} since ${formatTime(a.start)} ended below the threshold in log time (not a stall)\n`,
        );
      }
    },
    unraised(relay, s) {
      write(
        `pollscope: [${relay}] stall in log: ${s.kind} ${formatDuration(s.durationNs)} from ${formatTime(s.start)} to ${formatTime(s.end)} ${where(s)}: ${s.detail}\n`,
      );
    },
  };
}
