/**
 * The reactor model's per-poller and per-wait state, and how a finished wait's wake reason is
 * told from what the log said (log-formats.md 6.3).
 */
import type { PollerKind } from '../decode/events.js';
import { NOTIFY_KEY } from '../decode/events.js';
import { resolutionNs, type LogTime } from '../time.js';
import type { ReadyEvent, SourcePos, WaitObservation, WakeReason } from './observations.js';

export interface OpenWait {
  start: LogTime | null;
  pos: SourcePos;
  timeoutNs: number | null | undefined;
  startThread: string;
  gapBeforeNs: number | null;
  wake: LogTime | null;
  res: number | null;
  ready: ReadyEvent[];
  notified: boolean;
  drained: boolean | null;
  rearm: { fd: number | null; flags: number | null } | null;
  /** A `tid=` logged inside the wait's messages (fork re-arm lines), when its start/end carry none. */
  tidSeen: string;
}

export function openWait(
  start: LogTime | null,
  pos: SourcePos,
  timeoutNs: number | null | undefined,
  startThread: string,
  gapBeforeNs: number | null,
): OpenWait {
  return {
    start,
    pos,
    timeoutNs,
    startThread,
    gapBeforeNs,
    wake: null,
    res: null,
    ready: [],
    notified: false,
    drained: null,
    rearm: null,
    tidSeen: '',
  };
}

/** A finished wait whose wake reason waits for async-io's verdict (polling 2.x logs no keys). */
export interface PendingClassification {
  obs: WaitObservation;
  notified: boolean;
  /** async-io logged a second `process_timers` before `react:`: Poller::wait returned no user event. */
  noUserEvents: boolean;
  linesLeft: number;
  /** The model's poll-start count at the wait's end line: a poll started after it took the readiness. */
  pollStarts: number;
}

export class PollerState {
  open: OpenWait | null = null;
  readonly keyToFd = new Map<number, number>();
  eventFd: number | null = null;
  timerFd: number | null = null;
  /** A notify since the last wait ended: a pending notify makes the next wait return at once. */
  notifiedSinceEnd = false;
  constructor(
    readonly kind: PollerKind,
    readonly fd: number,
  ) {}
}

export interface OpenPoll {
  start: LogTime;
  pos: SourcePos;
  thread: string;
}

export function formatTimeout(ns: number | null | undefined): string {
  if (ns === undefined) return 'not logged';
  if (ns === null) return 'None';
  return `${ns / 1e9}s`;
}

/**
 * Why a wait returned (log-formats.md 6.3). Reasons come only from what the log says; when it
 * cannot be told the answer is `unknown`, never a guess.
 * asyncIo: async-io's verdict after a polling 2.x wait ('io' = user events came back, 'no_io' =
 * a second process_timers said none did), null when not seen.
 */
export function classify(
  w: WaitObservation,
  notified: boolean,
  drained: boolean | null,
  asyncIo: 'io' | 'no_io' | null,
): WakeReason[] {
  const reasons = new Set<WakeReason>();
  const timedOut =
    w.timeoutNs !== undefined &&
    w.timeoutNs !== null &&
    w.timeoutNs > 0 &&
    w.durationNs !== null &&
    w.durationNs >= w.timeoutNs - 1_000_000 - resolutionNs(w.wake.digits);
  const notifyKeyReason = (): WakeReason => {
    if (drained === true) return 'notify';
    if (drained === false) return 'timeout'; // the eventfd was empty, so the key-MAX event was the timerfd
    if (w.timeoutNs === null) return 'notify'; // timeout None: the timerfd is disarmed
    if (notified) return 'notify';
    if (timedOut) return 'timeout';
    return 'unknown';
  };
  if (w.ready.length > 0) {
    for (const r of w.ready) reasons.add(r.key === NOTIFY_KEY ? notifyKeyReason() : 'io');
  } else if (w.res === 0) {
    reasons.add(w.timeoutNs !== undefined && w.timeoutNs !== null && w.timeoutNs > 0 ? 'timeout' : 'spurious');
  } else if (asyncIo === 'io') {
    reasons.add('io');
    if (notified && (w.res ?? 0) >= 2) reasons.add('notify');
  } else if (asyncIo === 'no_io') {
    if (notified || w.timeoutNs === null) reasons.add('notify');
    else if (timedOut) reasons.add('timeout');
    else reasons.add('unknown');
  } else if (drained !== null) {
    reasons.add(drained ? 'notify' : 'unknown');
  } else if (notified) {
    reasons.add('notify');
  } else if (timedOut) {
    reasons.add('timeout');
  } else {
    reasons.add('unknown');
  }
  return [...reasons];
}
