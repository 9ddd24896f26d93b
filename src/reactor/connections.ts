/**
 * The model of a span-based relay (rust-libp2p ≥ 0.53 on tokio, no reactor lines): poll spans per
 * kind, connections from established to closed, slow and blocked polls naming their connection,
 * and quiet stretches. Rules and precision: docs/reactor-model.md, "Span-based relays".
 *
 * A poll span's timing comes from its FmtSpan `close` line: end = the line's time, busy and idle
 * from `time.busy` / `time.idle`, start = end − busy − idle. Subscribers that log `enter`/`exit`
 * but no `close` are paired enter → exit per span, connection and thread.
 */
import type { ConnectionRef, ReactorEvent } from '../decode/events.js';
import { DurationDistribution } from '../export/quantiles.js';
import { diffNs, type LogTime } from '../time.js';
import type { ConnectionObservation, ObservationSink, PollSpanKind, SourcePos, StallKind } from './observations.js';
import { POLL_SPAN_NAMES } from './observations.js';

type SpanEvent = Extract<ReactorEvent, { kind: 'span' }>;
type ConnectionEvent = Extract<ReactorEvent, { kind: 'connection' }>;

/** tokio-metrics' slow-poll threshold: the default `--slow-connection-poll`. */
export const DEFAULT_SLOW_CONNECTION_POLL_NS = 50_000;

/** The thresholds this model reads (the daemon's SIGHUP changes them in place). */
export interface ConnectionThresholds {
  /** A poll span this busy is slow (counted per connection and per span kind); default 50 µs. */
  slowConnectionPollNs?: number;
  /** A poll span this busy is a blocked_poll stall. */
  blockedPollNs: number;
}

/** Connections tracked at once; beyond this the oldest open one is reported as it stands and dropped. */
const MAX_OPEN_CONNECTIONS = 20_000;
/** Closed connection ids remembered, so that a late line of a closed connection does not reopen it. */
const MAX_CLOSED_IDS = 4096;

interface OpenConnection {
  ref: ConnectionRef;
  established: LogTime | null;
  firstSeen: LogTime;
  lastSeen: LogTime;
  pos: SourcePos;
  polls: number;
  busyNs: number;
  maxPollNs: number;
  /** 4 bins per power of two: p99 within ±9 %, 1.5 KB a connection. */
  dist: DurationDistribution;
  slowPolls: number;
  blockedPolls: number;
  lines: number;
  /** Still in `open` (false once reported): the touch() cache holds only an open one. */
  isOpen: boolean;
}

export interface ConnectionCounters {
  /** "Connection established" events. */
  established: number;
  /** "Connection closed" events (or root span closes without one). */
  closed: number;
  /** Connections first seen in the log (by id). */
  seen: number;
  /** Most connections open at once. */
  maxOpen: number;
  /** Poll spans with timing, per kind. */
  polls: Record<PollSpanKind, number>;
}

type Stall = (kind: StallKind, start: LogTime, end: LogTime, pos: SourcePos, detail: string) => void;
/** A span's start from its end and busy + idle, capped at the log time the clock segment covers. */
type SpanStart = (end: LogTime, totalNs: number) => LogTime;

const peerRemoteKey = (peer: string | null, remote: string | null): string => `${peer ?? ''}|${remote ?? ''}`;

export class ConnectionModel {
  private readonly open = new Map<string, OpenConnection>();
  private readonly byPeerRemote = new Map<string, OpenConnection>();
  /** "Connection established" seen before any line of the connection's span (key peer|remote). */
  private readonly pendingEstablished = new Map<string, LogTime>();
  private readonly closedIds = new Set<string>();
  /** Connections closed by their root span's close, whose "Connection closed" event may still follow (peer|remote). */
  private readonly closedBySpan = new Set<string>();
  /** Open connections when the input ended (finish() reports and forgets them). */
  private openAtFinish: number | null = null;
  /** enter lines waiting for their exit when the subscriber logs no close (key span|conn|thread). */
  private readonly enters = new Map<string, LogTime>();
  private sawClose = false;
  /**
   * The connection touched last and the ref it was touched by: consecutive lines of one
   * connection skip the lookup by id (the decoder hands out one ref per connection context).
   */
  private lastRef: ConnectionRef | null = null;
  private lastConn: OpenConnection | null = null;
  /** Any libp2p span or connection line seen: the log is a span-based relay's. */
  seen = false;

  readonly counters: ConnectionCounters = {
    established: 0,
    closed: 0,
    seen: 0,
    maxOpen: 0,
    polls: { pool: 0, connection: 0, handler: 0, behaviour: 0 },
  };

  constructor(
    private readonly sink: ObservationSink,
    private readonly thresholds: ConnectionThresholds,
    private readonly stall: Stall,
    private readonly spanStart: SpanStart,
  ) {}

  get openCount(): number {
    return this.open.size;
  }

  /** Connections open now; after the end of input, those that were open then. */
  get active(): number {
    return this.openAtFinish ?? this.open.size;
  }

  span(ev: SpanEvent, t: LogTime, pos: SourcePos, thread: string): void {
    this.seen = true;
    const conn = ev.conn === null ? null : this.touch(ev.conn, t, pos);
    if (ev.span === 'established') {
      if (ev.phase === 'close' && ev.conn !== null && this.close(ev.conn.id, t, false)) {
        if (this.closedBySpan.size >= MAX_CLOSED_IDS) this.closedBySpan.clear();
        this.closedBySpan.add(peerRemoteKey(ev.conn.peer, ev.conn.remote));
      }
      return;
    }
    if (ev.span !== 'pool' && ev.span !== 'connection' && ev.span !== 'handler' && ev.span !== 'behaviour') return;
    if (ev.phase === 'close') {
      this.sawClose = true;
      // A logged time.busy is trusted only as far as the log's own time covers it (a 400-digit
      // busy time, or one from before a clock step, must not make a year-long blocked poll).
      const idle = ev.idleNs ?? 0;
      const start = this.spanStart(t, (ev.busyNs ?? 0) + idle);
      const busy = Math.min(ev.busyNs ?? 0, Math.max(0, diffNs(start, t)));
      this.poll(
        ev.span,
        start,
        t,
        busy,
        Math.min(idle, Math.max(0, diffNs(start, t) - busy)),
        ev.conn,
        conn,
        thread,
        pos,
      );
      return;
    }
    if (this.sawClose) return;
    const key = `${ev.span}|${ev.conn?.id ?? ''}|${thread}`;
    if (ev.phase === 'enter') this.enters.set(key, t);
    else if (ev.phase === 'exit') {
      const start = this.enters.get(key);
      if (start === undefined) return;
      this.enters.delete(key);
      this.poll(ev.span, start, t, Math.max(0, diffNs(start, t)), 0, ev.conn, conn, thread, pos);
    }
  }

  private poll(
    span: PollSpanKind,
    start: LogTime,
    end: LogTime,
    busyNs: number,
    idleNs: number,
    ref: ConnectionRef | null,
    conn: OpenConnection | null,
    thread: string,
    pos: SourcePos,
  ): void {
    this.counters.polls[span]++;
    const slow = busyNs >= (this.thresholds.slowConnectionPollNs ?? DEFAULT_SLOW_CONNECTION_POLL_NS);
    const blocked = busyNs >= this.thresholds.blockedPollNs;
    if (conn !== null && span === 'connection') {
      conn.polls++;
      conn.busyNs += busyNs;
      if (busyNs > conn.maxPollNs) conn.maxPollNs = busyNs;
      conn.dist.add(busyNs);
      if (slow) conn.slowPolls++;
      if (blocked) conn.blockedPolls++;
    }
    const connPos = conn?.pos ?? null;
    this.sink.spanPoll?.({ span, start, end, busyNs, idleNs, conn: ref, thread, slow, blocked, connPos, pos });
    if (blocked) {
      const who = ref === null ? '' : ` of ${describeConnection(ref)}`;
      this.stall('blocked_poll', start, end, pos, `a ${POLL_SPAN_NAMES[span]}${who} did not return`);
    }
  }

  connection(ev: ConnectionEvent, t: LogTime): void {
    this.seen = true;
    const key = peerRemoteKey(ev.peer, ev.remote);
    const known = this.byPeerRemote.get(key);
    if (ev.what === 'established') {
      this.counters.established++;
      if (known !== undefined) {
        if (known.established === null) known.established = t;
      } else {
        if (this.pendingEstablished.size >= MAX_OPEN_CONNECTIONS) this.pendingEstablished.clear();
        this.pendingEstablished.set(key, t);
      }
      return;
    }
    if (known !== undefined) this.close(known.ref.id, t, ev.error);
    else if (!this.closedBySpan.delete(key)) {
      // A connection the log showed no line of (or only its events): counted all the same.
      this.pendingEstablished.delete(key);
      this.counters.closed++;
    }
  }

  activity(ref: ConnectionRef, t: LogTime, pos: SourcePos): void {
    this.seen = true;
    const c = this.touch(ref, t, pos);
    if (c !== null) c.lines++;
  }

  /** The connection's state, created on its first line; null for a line of a connection already closed. */
  private touch(ref: ConnectionRef, t: LogTime, pos: SourcePos): OpenConnection | null {
    const last = this.lastConn;
    // open.get(ref.id) would give it: it was open under that id and no other can take the id
    // while it stays open
    let c = last !== null && ref === this.lastRef && last.isOpen ? last : this.open.get(ref.id);
    if (c !== undefined) {
      c.lastSeen = t;
      if (c.ref.peer === null && ref.peer !== null) this.rekey(c, ref);
      this.lastRef = ref;
      this.lastConn = c;
      return c;
    }
    if (this.closedIds.has(ref.id)) return null;
    if (this.open.size >= MAX_OPEN_CONNECTIONS) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.report(this.open.get(oldest)!, null, false);
    }
    const key = peerRemoteKey(ref.peer, ref.remote);
    const established = this.pendingEstablished.get(key) ?? null;
    if (established !== null) this.pendingEstablished.delete(key);
    c = {
      ref,
      established,
      firstSeen: established ?? t,
      lastSeen: t,
      pos,
      polls: 0,
      busyNs: 0,
      maxPollNs: 0,
      dist: new DurationDistribution(4),
      slowPolls: 0,
      blockedPolls: 0,
      lines: 0,
      isOpen: true,
    };
    this.open.set(ref.id, c);
    this.lastRef = ref;
    this.lastConn = c;
    this.byPeerRemote.set(key, c);
    this.counters.seen++;
    if (this.open.size > this.counters.maxOpen) this.counters.maxOpen = this.open.size;
    return c;
  }

  private rekey(c: OpenConnection, ref: ConnectionRef): void {
    this.byPeerRemote.delete(peerRemoteKey(c.ref.peer, c.ref.remote));
    c.ref = ref;
    this.byPeerRemote.set(peerRemoteKey(ref.peer, ref.remote), c);
  }

  /** Reports the connection closed; false when it was not open. */
  private close(id: string, t: LogTime, error: boolean): boolean {
    const c = this.open.get(id);
    if (c === undefined) return false;
    this.counters.closed++;
    this.report(c, t, error);
    if (this.closedIds.size >= MAX_CLOSED_IDS) this.closedIds.clear();
    this.closedIds.add(id);
    return true;
  }

  private report(c: OpenConnection, closed: LogTime | null, error: boolean): void {
    this.open.delete(c.ref.id);
    c.isOpen = false;
    this.byPeerRemote.delete(peerRemoteKey(c.ref.peer, c.ref.remote));
    const obs: ConnectionObservation = {
      conn: c.ref,
      established: c.established,
      firstSeen: c.firstSeen,
      lastSeen: c.lastSeen,
      closed,
      closedWithError: error,
      polls: c.polls,
      busyNs: c.busyNs,
      maxPollNs: c.maxPollNs,
      p99PollNs: c.polls > 0 ? c.dist.quantile(0.99) : null,
      slowPolls: c.slowPolls,
      blockedPolls: c.blockedPolls,
      lines: c.lines,
      pos: c.pos,
    };
    this.sink.connection?.(obs);
  }

  /** End of input: connections still open are reported as such (and as unfinished). */
  finish(last: LogTime): void {
    this.openAtFinish = this.open.size;
    for (const c of [...this.open.values()]) {
      const since = c.established ?? c.firstSeen;
      this.sink.unfinished?.({
        what: 'connection',
        since,
        followedByNs: Math.max(0, diffNs(since, last)),
        pos: c.pos,
        detail: `${describeConnection(c.ref)} still open`,
      });
      this.report(c, null, false);
    }
  }
}

/** `connection 3 (peer 12D3…, /ip4/…)` for details and reports. */
export function describeConnection(ref: ConnectionRef): string {
  const parts = [ref.peer === null ? '' : `peer ${ref.peer}`, ref.remote ?? ''].filter((s) => s !== '');
  return `connection ${ref.id}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}
