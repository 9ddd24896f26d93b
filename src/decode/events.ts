/**
 * What decoders tell the reactor model: typed runtime events, one per meaningful log line.
 * Decoders know message shapes (which crate, which fork commit wrote what); the reactor model
 * knows nothing of text. Every event is about the record it was decoded from (its time,
 * thread and position come from that record, see ReactorEventSink).
 */
import type { LogRecord } from '../parse/record.js';

/** polling's NOTIFY_KEY (usize::MAX: eventfd and timerfd), stored as -1 since 2^64-1 is not an exact double. */
export const NOTIFY_KEY = -1;

/** Which poller backend wrote the line; the fd field is epoll_fd, kqueue_fd or notify_read. */
export type PollerKind = 'epoll' | 'kqueue' | 'poll';

export type ReactorEvent =
  /**
   * A wait begins (polling 2.x `wait: epoll_fd=…, timeout=…`, fork `wait:+`, FmtSpan `new`/`enter` of span `wait`).
   * timeoutNs: null = `None` (block until an event), undefined = not logged or not a duration
   * (polling ≥3.10 logs a `deadline` Instant that cannot be related to log time).
   */
  | { kind: 'wait_start'; poller: PollerKind; fd: number; timeoutNs?: number | null; tid?: string }
  /** The sys wait actually blocks (fork `wait: waiting … timeout_ms=…`). */
  | { kind: 'wait_block'; fd: number; timeoutMs: number | null; tid?: string }
  /** epoll_wait returned (fork `wait: running epoll_fd=…, events.len=N`): the wake. */
  | { kind: 'wait_wake'; fd: number; res: number; tid?: string }
  /** One returned event (fork `wait: list[i] … { events: X u64: K }`). flags = returned epoll mask. */
  | { kind: 'wait_ready'; fd: number | null; index: number; flags: number; key: number }
  /**
   * The wait is over (polling 2.x/3.x `new events`, fork `wait:-`, FmtSpan `close` of span `wait`).
   * busyNs/idleNs from FmtSpan close (the span's own timing; start = close − busy − idle).
   */
  | {
      kind: 'wait_end';
      poller: PollerKind;
      fd: number;
      res: number | null;
      busyNs?: number;
      idleNs?: number;
      tid?: string;
    }
  /**
   * A registration change: add / modify / delete of `targetFd` on poller `fd` with `key`
   * (`NOTIFY_KEY` for the eventfd/timerfd). `flags` = requested epoll mask when the line shows it
   * (fork `ctl:+ … events=4000201b`), readable/writable when it shows those instead.
   * targetFd is null when the line does not say which fd (fork ≤v2 `ctl:+ … event_fd=` is always the eventfd).
   */
  | {
      kind: 'interest';
      op: 'add' | 'modify' | 'delete';
      fd: number;
      targetFd: number | null;
      key: number | null;
      flags: number | null;
      readable?: boolean;
      writable?: boolean;
      tid?: string;
    }
  /** Poller created (`new: epoll_fd=3, event_fd=4, timer_fd=Some(5)`, fork `new:-`). */
  | { kind: 'poller_new'; poller: PollerKind; fd: number; eventFd: number | null; timerFd: number | null }
  /** eventfd written (`notify: epoll_fd=E, event_fd=F`, fork `notify:+`/`new:+ … epoll_fd=`); fd null for `Poller::notify()`. */
  | { kind: 'notify'; fd: number | null; tid?: string }
  /** Fork v4–v6 `retf modify to clear notification … res_rd=`: did the eventfd hold a notification? */
  | { kind: 'notify_drained'; fd: number; pending: boolean }
  /** async-io `process_timers: N ready wakers` (also 2.x `N ready wakers` inside span process_timers). */
  | { kind: 'timers_processed'; wakers: number }
  /**
   * async-io `react: N ready wakers` (2.x `N ready wakers` inside span react, fork `ReactorLock::react:- res=`).
   * wakers null: the fork's `res=` exit line carries no count.
   */
  | { kind: 'react_done'; wakers: number | null }
  /** async-io: which thread runs the poller wait next (`main_loop: waiting on I/O` / `block_on: waiting on I/O`). */
  | { kind: 'io_runner'; runner: 'main_loop' | 'block_on' }
  /** Swarm poll cycle begins (fork `Swarm<TBehavior>::Stream::poll_next:+`, upstream `Swarm::poll` enter/new). */
  | { kind: 'poll_start'; tid?: string }
  /**
   * Swarm poll cycle ends (fork `…poll_next:- result.is_ready(): true|false`, upstream exit/close).
   * ready null = not logged. busyNs/idleNs from FmtSpan close (start = close − busy − idle).
   */
  | { kind: 'poll_end'; ready: boolean | null; busyNs?: number; idleNs?: number; tid?: string }
  | {
      /**
       * A FmtSpan lifecycle line of one of rust-libp2p's poll or connection spans (≥ 0.53, `tracing`):
       * `close` carries the span's own timing (start = close − busy − idle). `conn`: the connection
       * whose root span (`new_established_connection{…}`) the span runs in, when it has one.
       */
      kind: 'span';
      span: Libp2pSpan;
      phase: SpanPhase;
      busyNs?: number;
      idleNs?: number;
      conn: ConnectionRef | null;
      tid?: string;
    }
  /** The swarm's "Connection established" / "Connection closed" debug events (`libp2p_swarm`). */
  | {
      kind: 'connection';
      what: 'established' | 'closed';
      peer: string | null;
      /** The remote address: `send_back_addr` of a Listener endpoint, `address` of a Dialer. */
      remote: string | null;
      totalPeers: number | null;
      /** "Connection closed with error …". */
      error: boolean;
    }
  /** Any other line logged inside a connection's root span: the connection was active then. */
  | { kind: 'connection_activity'; conn: ConnectionRef };

/**
 * rust-libp2p spans pollscope models (names as its source gives them): `Pool::poll`,
 * `Connection::poll`, protocol crates' `ConnectionHandler::poll` and `NetworkBehaviour::poll`
 * (poll cycles), the connection root spans `new_established_connection` (the connection's task,
 * open while it lives), `new_incoming_connection` / `new_outgoing_connection` (its upgrade), and
 * `Transport::dial`. `Swarm::poll` stays a `poll_start`/`poll_end` pair: it is the swarm's poll cycle.
 */
export type Libp2pSpan =
  'pool' | 'connection' | 'handler' | 'behaviour' | 'established' | 'incoming' | 'outgoing' | 'dial';
/** Which FmtSpan lifecycle line (`new`, `enter`, `exit`, `close time.busy=… time.idle=…`) a span logged. */
export type SpanPhase = 'new' | 'enter' | 'exit' | 'close';

/**
 * A connection as its root span names it (`id` is rust-libp2p's ConnectionId, a number; peer and
 * remote address when the span carries them). Decoders hand out one object per distinct connection
 * context, so the model may keep it.
 */
export interface ConnectionRef {
  id: string;
  peer: string | null;
  remote: string | null;
}

/** Receives decoded events; implemented by the reactor model. `rec` is the record the event came from. */
export interface ReactorEventSink {
  event(ev: ReactorEvent, rec: LogRecord): void;
}

/**
 * A decoder: the messages of one emitter (one crate, or one fork of it).
 * Returns true if it recognised the record (even when the line yields no event, e.g. `ctl:-`),
 * false to have the line counted as ignored.
 */
export interface Decoder {
  /** Short name for reports: 'polling2', 'polling-fork', 'polling3', 'async-io', 'swarm'. */
  readonly name: string;
  /** Exact targets (or module paths) this decoder reads. */
  readonly targets: readonly string[];
  decode(rec: LogRecord, sink: ReactorEventSink): boolean;
}
