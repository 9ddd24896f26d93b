/**
 * What the reactor model concludes: the observations every exporter (report, metrics, traces)
 * consumes. Times are log times; durations are ns (doubles, exact below ~104 days).
 */
import type { LogTime } from '../time.js';
import type { PollerKind } from '../decode/events.js';

/**
 * Set by the trace exporter on the observations of a kept turn (the span that shows this
 * observation), before they reach the metrics sink: histogram exemplars point only at traces
 * that were exported. Absent with traces off or for a dropped turn.
 */
export interface TraceExemplar {
  traceId: string;
  spanId: string;
}

/** Where in the input an observation's first line is. */
export interface SourcePos {
  file: string;
  line: number;
  offset: number;
}

export type WakeReason = 'io' | 'notify' | 'timeout' | 'spurious' | 'unknown';
export const WAKE_REASONS: readonly WakeReason[] = ['io', 'notify', 'timeout', 'spurious', 'unknown'];

export interface ReadyEvent {
  key: number; // NOTIFY_KEY (-1) for the eventfd/timerfd
  flags: number; // returned epoll mask
  fd: number | null; // the fd behind the key on this poller, when a registration told us
}

export interface WaitObservation {
  poller: PollerKind;
  fd: number;
  /** Start of the wait; null when the log began mid-wait (or polling 3.x logged only the end). */
  start: LogTime | null;
  /** When epoll_wait returned (fork `wait: running`), else = end. */
  wake: LogTime;
  end: LogTime;
  /** Time blocked: start → wake (or FmtSpan busy), null when the start is unknown. */
  durationNs: number | null;
  /** When start is null: log time since the line before the wake (how long it had been quiet). */
  gapBeforeNs: number | null;
  /** Log time from the swarm's last poll end to this wake, when no poll was running (swarm idle). */
  sincePollEndNs: number | null;
  timeoutNs: number | null | undefined; // undefined = not logged, null = None (block forever)
  res: number | null;
  reasons: WakeReason[]; // at least one; each present reason once
  ready: ReadyEvent[]; // returned events, when the log lists them
  /** Notifier re-arm during the wait's tail (fork ctl with key MAX): requested mask, e.g. 0x4000201b. */
  notifierRearm: { fd: number | null; flags: number | null } | null;
  /** Thread that ended the wait, when known. */
  thread: string;
  /** Start and end were logged by different threads (tid known on both). */
  threadMismatch: boolean;
  /** The duration is below the timestamp resolution (e.g. whole-second logs). */
  imprecise: boolean;
  pos: SourcePos; // first line of the wait (its start, else its wake)
  exemplar?: TraceExemplar;
}

export interface PollCycleObservation {
  start: LogTime;
  end: LogTime;
  durationNs: number;
  ready: boolean | null;
  thread: string;
  imprecise: boolean;
  pos: SourcePos;
  exemplar?: TraceExemplar;
}

export interface WakeToPollObservation {
  /** The wake that reported I/O readiness first since the last poll began. */
  readyAt: LogTime;
  pollStart: LogTime;
  delayNs: number;
  pos: SourcePos; // the poll start
  exemplar?: TraceExemplar;
}

export type StallKind = 'slow_poll' | 'blocked_poll' | 'starved' | 'silent';
export const STALL_KINDS: readonly StallKind[] = ['slow_poll', 'blocked_poll', 'starved', 'silent'];

export interface StallObservation {
  kind: StallKind;
  start: LogTime;
  end: LogTime;
  durationNs: number;
  /** Where the stalled interval begins in the input (the poll start, the readiness, the last line before the silence). */
  pos: SourcePos;
  detail: string;
  exemplar?: TraceExemplar;
}

/** Something still open when the input ended: reported with how much log time followed it. */
export interface UnfinishedObservation {
  what: 'wait' | 'poll' | 'readiness';
  since: LogTime;
  /** Log time from `since` to the last line of the input. */
  followedByNs: number;
  fd?: number;
  pos: SourcePos;
  detail: string;
  exemplar?: TraceExemplar;
}

/**
 * A stall in progress, seen live by the `run` daemon's watchdog before the log shows its end.
 * start is what the closing StallObservation will carry (the poll start, the readiness, the last
 * line before the silence); durationNs runs to the relay's estimated current log time (wall
 * clock corrected by the source's log/wall offset). The closing StallObservation comes through
 * `stall()` from the model as in replay, never from the watchdog.
 */
export interface ActiveStallObservation {
  kind: Exclude<StallKind, 'slow_poll'>;
  start: LogTime;
  durationNs: number;
  pos: SourcePos;
}

/** Receives observations as the model makes them. Exporters implement it. */
export interface ObservationSink {
  wait?(w: WaitObservation): void;
  pollCycle?(p: PollCycleObservation): void;
  wakeToPoll?(d: WakeToPollObservation): void;
  stall?(s: StallObservation): void;
  unfinished?(u: UnfinishedObservation): void;
  /**
   * Live only (`run`): the relay's active stall, called when the watchdog raises it, on every
   * watchdog tick while it lasts (durationNs current), and with null when it closes — after the
   * model's `stall()` for it, or without one when the log showed it was none after all.
   */
  activeStall?(a: ActiveStallObservation | null): void;
  /** End of this relay's input: a sink holding observations back (the trace exporter) passes them on now. */
  finish?(): void;
}
