/**
 * What the reactor model concludes: the observations every exporter (report, metrics, traces)
 * consumes. Times are log times; durations are ns (doubles, exact below ~104 days).
 */
import type { LogTime } from '../time.js';
import type { ConnectionRef, Libp2pSpan, PollerKind } from '../decode/events.js';

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

/** rust-libp2p's poll spans (`Swarm::poll` is a PollCycleObservation). */
export type PollSpanKind = Extract<Libp2pSpan, 'pool' | 'connection' | 'handler' | 'behaviour'>;
export const POLL_SPAN_KINDS: readonly PollSpanKind[] = ['pool', 'connection', 'handler', 'behaviour'];
/** The span names as rust-libp2p writes them, for reports and labels. */
export const POLL_SPAN_NAMES: Readonly<Record<PollSpanKind, string>> = {
  pool: 'Pool::poll',
  connection: 'Connection::poll',
  handler: 'ConnectionHandler::poll',
  behaviour: 'NetworkBehaviour::poll',
};

/**
 * One call of a libp2p poll span (`Pool::poll`, `Connection::poll`, `ConnectionHandler::poll`,
 * `NetworkBehaviour::poll`), from its FmtSpan `close` line: end = the line's time, start = end −
 * busy − idle (or from `enter` → `exit` when the subscriber logs no `close`).
 */
export interface SpanPollObservation {
  span: PollSpanKind;
  start: LogTime;
  end: LogTime;
  /** Time the poll ran (tracing's `time.busy`; enter → exit without close). */
  busyNs: number;
  idleNs: number;
  /** The connection whose root span the poll ran in (null for Pool::poll, NetworkBehaviour::poll). */
  conn: ConnectionRef | null;
  thread: string;
  /** busy ≥ the slow-connection-poll threshold. */
  slow: boolean;
  /** busy ≥ the blocked-poll threshold (a blocked_poll stall is reported for it too). */
  blocked: boolean;
  /** Where the connection was first seen (its trace's id comes from it); null without a connection. */
  connPos: SourcePos | null;
  pos: SourcePos; // the close (or exit) line
  exemplar?: TraceExemplar;
}

/** A libp2p connection's life as its spans and the swarm's events show it, when it closes (or at the end of input). */
export interface ConnectionObservation {
  conn: ConnectionRef;
  /** "Connection established" time, null when the log did not show it. */
  established: LogTime | null;
  /** First line that showed the connection (its event, or a line in its span). */
  firstSeen: LogTime;
  lastSeen: LogTime;
  /** When it closed ("Connection closed", or its root span's close); null: still open at the end of input. */
  closed: LogTime | null;
  closedWithError: boolean;
  /** Connection::poll calls with timing, their total and largest busy time, and their p99 (±9 %). */
  polls: number;
  busyNs: number;
  maxPollNs: number;
  p99PollNs: number | null;
  slowPolls: number;
  blockedPolls: number;
  /** Lines logged inside the connection's span (any target). */
  lines: number;
  pos: SourcePos; // the first line that showed it
}

/**
 * A stretch of log time with no line at all while libp2p connections were open and no reactor
 * lines are logged: an idle executor and a blocked one look the same here, so it is reported as
 * what it is, never as a stall.
 */
export interface QuietObservation {
  start: LogTime;
  end: LogTime;
  durationNs: number;
  openConnections: number;
  pos: SourcePos; // the last line before it
}

/** Something still open when the input ended: reported with how much log time followed it. */
export interface UnfinishedObservation {
  what: 'wait' | 'poll' | 'readiness' | 'connection';
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
  /** rust-libp2p span-based relays: one poll span call, one connection's life, a quiet stretch. */
  spanPoll?(p: SpanPollObservation): void;
  connection?(c: ConnectionObservation): void;
  quiet?(q: QuietObservation): void;
  /**
   * Live only (`run`): the relay's active stall, called when the watchdog raises it, on every
   * watchdog tick while it lasts (durationNs current), and with null when it closes — after the
   * model's `stall()` for it, or without one when the log showed it was none after all.
   */
  activeStall?(a: ActiveStallObservation | null): void;
  /** End of this relay's input: a sink holding observations back (the trace exporter) passes them on now. */
  finish?(): void;
}

/**
 * Every ObservationSink method, for the forwarders that must pass each one on (the pipeline's
 * fan-out, the daemon's guard): a method added to the interface and not here fails to compile.
 */
export const SINK_METHODS = [
  'wait',
  'pollCycle',
  'wakeToPoll',
  'stall',
  'unfinished',
  'spanPoll',
  'connection',
  'quiet',
  'activeStall',
  'finish',
] as const satisfies ReadonlyArray<keyof ObservationSink>;
type Unlisted = Exclude<keyof ObservationSink, (typeof SINK_METHODS)[number]>;
/** Compile-time check that SINK_METHODS lists every method. */
export const SINK_METHODS_COMPLETE: [Unlisted] extends [never] ? true : Unlisted = true;

/** A sink that calls `forward(method, argument)` for every ObservationSink method. */
export function forwardingSink(forward: (method: keyof ObservationSink, arg: unknown) => void): ObservationSink {
  const sink: Record<string, (arg?: unknown) => void> = {};
  for (const m of SINK_METHODS) sink[m] = (arg?: unknown) => forward(m, arg);
  return sink;
}
