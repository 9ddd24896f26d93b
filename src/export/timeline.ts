/**
 * The timeline sink: keeps what the timeline page draws — epoll waits per epoll fd, swarm poll
 * cycles per thread, stalls (with the raw log lines around their start), the live active stall
 * and what was unfinished at the end; for span-based relays (rust-libp2p ≥ 0.53) the slow and
 * blocked `Connection::poll` calls of the busiest connections, one lane each, and the quiet
 * stretches (drawn apart from stalls: they are not stalls) — in compact columns, and turns them into the page's data
 * document (`timelineData`). `replay --html` keeps everything (up to MAX_BARS_REPLAY bars); the
 * live daemon keeps the last `windowNs` of log time and at most MAX_BARS_LIVE bars per relay.
 *
 * Times are ns relative to `originSec` (the whole second of the first observation): doubles,
 * exact for ~104 days of log, and rounded to the log's precision (µs unless a line had more
 * digits) when encoded.
 */
import type {
  ActiveStallObservation,
  ConnectionObservation,
  ObservationSink,
  PollCycleObservation,
  QuietObservation,
  SpanPollObservation,
  StallKind,
  StallObservation,
  UnfinishedObservation,
  WaitObservation,
  WakeReason,
} from '../reactor/observations.js';
import { STALL_KINDS, WAKE_REASONS } from '../reactor/observations.js';
import { formatTime, type LogTime } from '../time.js';
import {
  BarLane,
  encodeLane,
  TIMEOUT_NONE,
  TIMEOUT_NOT_LOGGED,
  type LaneKind,
  type SummaryRow,
  type TimelineData,
  type TimelineOpen,
  type TimelineQuiet,
  type TimelineStall,
} from './timeline-data.js';
import { linesAround } from './source-lines.js';

export type { EncodedLane, LaneKind, SummaryRow, TimelineData, TimelineQuiet, TimelineStall } from './timeline-data.js';
export { LINES_AFTER, LINES_BEFORE, linesAround } from './source-lines.js';

/** Bars kept by `replay --html` (beyond: counted as dropped, the newest are not drawn). */
export const MAX_BARS_REPLAY = 2_000_000;
/** Bars kept per relay by the live daemon, all lanes together (the oldest go first). ~25 B each. */
export const MAX_BARS_LIVE = 200_000;
/** Stalls kept with their lines (replay: the first ones; live: the newest). All are counted. */
export const MAX_STALLS_REPLAY = 2_000;
export const MAX_STALLS_LIVE = 500;
/** Lanes of each kind; further epoll fds / threads share one "other" lane. */
const MAX_LANES = 32;
/**
 * Connection lanes drawn: the busiest connections (total Connection::poll busy time) with a slow
 * or blocked poll; the bars of the others share one "other connections" lane. Connections kept
 * apart while collecting (beyond: straight to the shared lane); live, a closed connection's entry
 * goes when its last bar leaves the window.
 */
export const MAX_CONNECTION_LANES = 12;
const MAX_CONNECTIONS_TRACKED = 4096;
const OTHER_CONNECTIONS = '(others)';
/** Quiet stretches kept (replay: the first ones; live: the newest). */
const MAX_QUIET = 500;
export const DEFAULT_TIMELINE_WINDOW_NS = 15 * 60 * 1e9;

/** Wait bar codes: low 3 bits the first wake reason (WAKE_REASONS index); flags above. */
const START_UNKNOWN = 0x10;
const IMPRECISE = 0x20;
/** Connection poll bar codes: slow (≥ --slow-connection-poll), blocked (≥ --blocked-poll). */
const CONN_SLOW = 0;
const CONN_BLOCKED = 1;
/** Poll bar codes. */
const POLL_PENDING = 0;
const POLL_READY = 1;
const POLL_UNKNOWN = 2;

/** Lanes: epoll waits per fd, swarm poll cycles per thread, slow/blocked Connection::poll per connection. */
const LANE_ORDER: Record<LaneKind, number> = { wait: 0, poll: 1, conn: 2 };

/** One connection's lane while collecting: its bars and what ranks it among the busiest. */
interface ConnectionLane {
  lane: BarLane;
  busyNs: number;
  polls: number;
  closed: boolean;
}

export interface TimelineOptions {
  /** Live: keep this much log time before the newest observation (ns); Infinity for replay. */
  windowNs?: number;
  /** Most bars kept, all lanes together. */
  maxBars?: number;
}

export class TimelineSink implements ObservationSink {
  private originSec = Number.NaN;
  private digits = 0;
  private minNs = Number.POSITIVE_INFINITY;
  private maxNs = Number.NEGATIVE_INFINITY;
  private readonly waitLanes = new Map<number, BarLane>();
  private readonly pollLanes = new Map<string, BarLane>();
  private readonly connLanes = new Map<string, ConnectionLane>();
  private otherConnLane: BarLane | null = null;
  readonly quietStretches: TimelineQuiet[] = [];
  quietCount = 0;
  connectionPolls = 0;
  private readonly lanes: BarLane[] = [];
  private bars = 0;
  /** Bars not kept: beyond the cap (replay) or pushed out by newer ones (live, besides the window). */
  dropped = 0;
  readonly stalls: TimelineStall[] = [];
  readonly stallCounts: Record<StallKind, number> = { slow_poll: 0, blocked_poll: 0, starved: 0, silent: 0 };
  private active: { kind: StallKind; startNs: number; durationNs: number; start: string; at: string } | null = null;
  private readonly open: TimelineOpen[] = [];
  // Summary counters (live: since the daemon started).
  waits = 0;
  polls = 0;
  readonly wakeups: Record<WakeReason, number> = { io: 0, notify: 0, timeout: 0, spurious: 0, unknown: 0 };
  readonly pollResults = { ready: 0, pending: 0, unknown: 0 };
  private readonly windowNs: number;
  private readonly maxBars: number;
  private readonly live: boolean;

  constructor(opts: TimelineOptions = {}) {
    this.windowNs = opts.windowNs ?? Number.POSITIVE_INFINITY;
    this.live = Number.isFinite(this.windowNs);
    this.maxBars = opts.maxBars ?? (this.live ? MAX_BARS_LIVE : MAX_BARS_REPLAY);
  }

  private rel(t: LogTime): number {
    if (Number.isNaN(this.originSec)) this.originSec = t.sec;
    if (t.digits > this.digits) this.digits = t.digits;
    const ns = (t.sec - this.originSec) * 1e9 + t.nsec;
    if (ns < this.minNs) this.minNs = ns;
    if (ns > this.maxNs) this.maxNs = ns;
    return ns;
  }

  wait(w: WaitObservation): void {
    this.waits++;
    for (const r of w.reasons) this.wakeups[r]++;
    const wake = this.rel(w.wake);
    // Start not logged: the bar covers the quiet before the wake (drawn faint), the most it can have been.
    const start = w.start ? this.rel(w.start) : wake - (w.gapBeforeNs ?? 0);
    if (start < this.minNs) this.minNs = start;
    this.rel(w.end);
    let code = WAKE_REASONS.indexOf(w.reasons[0] ?? 'unknown');
    if (w.start === null) code |= START_UNKNOWN;
    if (w.imprecise) code |= IMPRECISE;
    const t = w.timeoutNs === undefined ? TIMEOUT_NOT_LOGGED : w.timeoutNs === null ? TIMEOUT_NONE : w.timeoutNs;
    this.add(this.waitLane(w.fd), start, wake, code, t);
  }

  pollCycle(p: PollCycleObservation): void {
    this.polls++;
    const r = p.ready === true ? 'ready' : p.ready === false ? 'pending' : 'unknown';
    this.pollResults[r]++;
    const start = this.rel(p.start);
    const end = this.rel(p.end);
    const code = p.ready === true ? POLL_READY : p.ready === false ? POLL_PENDING : POLL_UNKNOWN;
    this.add(this.pollLane(p.thread), start, end, code, 0);
  }

  /** Slow and blocked Connection::poll calls become bars on their connection's lane; every call ranks it. */
  spanPoll(p: SpanPollObservation): void {
    if (p.span !== 'connection' || p.conn === null) return;
    this.connectionPolls++;
    let c = this.connLanes.get(p.conn.id);
    if (c === undefined && this.connLanes.size < MAX_CONNECTIONS_TRACKED) {
      c = {
        lane: new BarLane(`conn:${p.conn.id}`, 'conn', connectionLabel(p.conn.id, p.conn.peer)),
        busyNs: 0,
        polls: 0,
        closed: false,
      };
      this.connLanes.set(p.conn.id, c);
      this.lanes.push(c.lane);
    }
    if (c !== undefined) {
      c.busyNs += p.busyNs;
      c.polls++;
    }
    if (!p.slow && !p.blocked) return;
    const start = this.rel(p.start);
    const end = this.rel(p.end);
    this.add(c?.lane ?? this.otherConnections(), start, end, p.blocked ? CONN_BLOCKED : CONN_SLOW, 0);
  }

  connection(c: ConnectionObservation): void {
    const entry = this.connLanes.get(c.conn.id);
    if (entry !== undefined && c.closed !== null) entry.closed = true;
  }

  quiet(q: QuietObservation): void {
    this.quietCount++;
    if (this.quietStretches.length >= MAX_QUIET) {
      if (!this.live) return;
      this.quietStretches.shift();
    }
    this.quietStretches.push({
      startNs: this.rel(q.start),
      endNs: this.rel(q.end),
      durationNs: q.durationNs,
      start: formatTime(q.start),
      openConnections: q.openConnections,
      at: `${q.pos.file}:${q.pos.line}`,
    });
  }

  private otherConnections(): BarLane {
    if (this.otherConnLane === null) {
      this.otherConnLane = new BarLane(`conn:${OTHER_CONNECTIONS}`, 'conn', 'other connections');
      this.lanes.push(this.otherConnLane);
    }
    return this.otherConnLane;
  }

  stall(s: StallObservation): void {
    this.stallCounts[s.kind]++;
    if (this.active && this.active.kind === s.kind) this.active = null;
    if (this.stalls.length >= (this.live ? MAX_STALLS_LIVE : MAX_STALLS_REPLAY)) {
      if (!this.live) return;
      this.stalls.shift();
    }
    const startNs = this.rel(s.start);
    const endNs = this.rel(s.end);
    // Read now: live, the file at this path may be rotated away later; the bytes were just read.
    const lines = linesAround(s.pos);
    this.stalls.push({
      kind: s.kind,
      startNs,
      endNs,
      durationNs: s.durationNs,
      start: formatTime(s.start),
      end: formatTime(s.end),
      at: `${s.pos.file}:${s.pos.line}`,
      detail: s.detail,
      lines,
      line: s.pos.line,
      file: s.pos.file,
    });
    this.trim();
  }

  activeStall(a: ActiveStallObservation | null): void {
    if (a === null) {
      this.active = null;
      return;
    }
    const startNs = this.rel(a.start);
    this.active = {
      kind: a.kind,
      startNs,
      durationNs: a.durationNs,
      start: formatTime(a.start),
      at: `${a.pos.file}:${a.pos.line}`,
    };
  }

  unfinished(u: UnfinishedObservation): void {
    const sinceNs = this.rel(u.since);
    const endNs = sinceNs + u.followedByNs;
    if (endNs > this.maxNs) this.maxNs = endNs;
    // A poll, or readiness no poll took up, belongs on the swarm's lane; a wait on its fd's.
    let lane = u.what === 'wait' && u.fd !== undefined ? this.waitLane(u.fd).id : '';
    // A connection still open goes on its own lane (drawn only if it has one); its id leads the detail.
    if (u.what === 'connection') lane = `conn:${connectionIdOf(u.detail)}`;
    if (lane === '') lane = this.pollLanes.values().next().value?.id ?? this.pollLane('').id;
    this.open.push({
      what: u.what,
      lane,
      sinceNs,
      endNs,
      since: formatTime(u.since),
      at: `${u.pos.file}:${u.pos.line}`,
      detail: u.detail,
    });
  }

  private waitLane(fd: number): BarLane {
    let lane = this.waitLanes.get(fd);
    if (lane === undefined) {
      if (this.waitLanes.size >= MAX_LANES) return this.waitLanes.get(-1) ?? this.newWaitLane(-1, 'epoll fd (others)');
      lane = this.newWaitLane(fd, `epoll fd ${fd}`);
    }
    return lane;
  }

  private newWaitLane(fd: number, label: string): BarLane {
    const lane = new BarLane(`fd:${fd}`, 'wait', label);
    this.waitLanes.set(fd, lane);
    this.lanes.push(lane);
    return lane;
  }

  private pollLane(thread: string): BarLane {
    let lane = this.pollLanes.get(thread);
    if (lane === undefined) {
      const key = this.pollLanes.size >= MAX_LANES ? '(others)' : thread;
      lane = this.pollLanes.get(key);
      if (lane === undefined) {
        lane = new BarLane(`poll:${key}`, 'poll', key ? `swarm polls, thread ${key}` : 'swarm polls');
        this.pollLanes.set(key, lane);
        this.lanes.push(lane);
      }
    }
    return lane;
  }

  private add(lane: BarLane, start: number, end: number, code: number, timeout: number): void {
    if (this.bars >= this.maxBars) {
      if (!this.live) {
        this.dropped++;
        return;
      }
      this.dropOldest();
    }
    lane.push(start, end, code, timeout);
    this.bars++;
    if (this.live && (this.bars & 1023) === 0) this.trim();
  }

  /** Live: bars that ended before the window go; so do stalls and the oldest bars over the cap. */
  private trim(): void {
    if (!this.live) return;
    const from = this.maxNs - this.windowNs;
    for (const lane of this.lanes) {
      while (lane.head < lane.n && lane.end[lane.head] < from) {
        lane.head++;
        this.bars--;
      }
    }
    while (this.stalls.length > 0 && this.stalls[0].endNs < from) this.stalls.shift();
    while (this.quietStretches.length > 0 && this.quietStretches[0].endNs < from) this.quietStretches.shift();
    // A closed connection whose bars have all left the window is forgotten (bounded over a long run).
    for (const [id, c] of this.connLanes) {
      if (!c.closed || c.lane.size > 0) continue;
      this.connLanes.delete(id);
      this.lanes.splice(this.lanes.indexOf(c.lane), 1);
    }
  }

  private dropOldest(): void {
    let oldest: BarLane | null = null;
    for (const lane of this.lanes) {
      if (lane.size > 0 && (oldest === null || lane.start[lane.head] < oldest.start[oldest.head])) oldest = lane;
    }
    if (oldest === null) return;
    oldest.head++;
    this.bars--;
    this.dropped++;
  }

  /** Widens the time axis to an instant the observations may not reach (the log's first and last line). */
  cover(t: LogTime): void {
    this.rel(t);
  }

  /** The page's data document: bars as base64 varint columns, the rest as plain JSON. */
  data(summary: SummaryRow[], title: string): TimelineData {
    this.trim();
    const empty = !Number.isFinite(this.minNs);
    let startNs = empty ? 0 : this.minNs;
    let endNs = empty ? 1e9 : this.maxNs;
    if (this.active) endNs = Math.max(endNs, this.active.startNs + this.active.durationNs);
    if (this.live && endNs - startNs > this.windowNs) startNs = endNs - this.windowNs;
    if (endNs <= startNs) endNs = startNs + 1000;
    const unitNs = this.digits > 6 ? 1 : 1000;
    return {
      version: 1,
      title,
      originSec: Number.isNaN(this.originSec) ? 0 : this.originSec,
      unitNs,
      startNs,
      endNs,
      lanes: this.lanes
        .filter((l) => l.kind !== 'conn' && (l.size > 0 || this.open.some((o) => o.lane === l.id)))
        .sort((a, b) => LANE_ORDER[a.kind] - LANE_ORDER[b.kind])
        .concat(this.connectionLanes())
        .map((l) => encodeLane(l, unitNs)),
      stalls: this.stalls,
      quiet: this.quietStretches,
      quietCount: this.quietCount,
      stallCounts: { ...this.stallCounts },
      active: this.active,
      unfinished: this.open,
      dropped: this.dropped,
      summary,
      windowNs: this.live ? this.windowNs : null,
    };
  }

  /**
   * The connection lanes drawn: the MAX_CONNECTION_LANES busiest connections with a bar, then one
   * lane with the bars of all the others (merged here, at drawing time, so the ranking can change).
   */
  private connectionLanes(): BarLane[] {
    const withBars = [...this.connLanes.values()].filter((c) => c.lane.size > 0).sort((a, b) => b.busyNs - a.busyNs);
    const shown = withBars.slice(0, MAX_CONNECTION_LANES).map((c) => c.lane);
    const rest = withBars.slice(MAX_CONNECTION_LANES).map((c) => c.lane);
    if (this.otherConnLane !== null && this.otherConnLane.size > 0) rest.push(this.otherConnLane);
    if (rest.length === 0) return shown;
    const merged = new BarLane(
      `conn:${OTHER_CONNECTIONS}`,
      'conn',
      `other connections (${withBars.length - shown.length})`,
    );
    for (const l of rest) for (let i = l.head; i < l.n; i++) merged.push(l.start[i], l.end[i], l.code[i], 0);
    return [...shown, merged];
  }

  /** Summary rows from this sink's own counters (live, where no report exists). */
  summaryRows(): SummaryRow[] {
    const conn: SummaryRow[] =
      this.connectionPolls > 0 || this.quietCount > 0
        ? [
            ['connection polls', `${this.connectionPolls} Connection::poll calls, ${this.connLanes.size} connections`],
            ['quiet stretches', `${this.quietCount} (connections open, nothing logged: not stalls)`],
          ]
        : [];
    return [
      ['epoll waits', `${this.waits}`],
      ['wakeups by reason', reasonText(this.wakeups)],
      [
        'swarm poll cycles',
        `${this.polls} (ready ${this.pollResults.ready}, pending ${this.pollResults.pending}` +
          (this.pollResults.unknown ? `, not logged ${this.pollResults.unknown}` : '') +
          ')',
      ],
      ['stalls', STALL_KINDS.map((k) => `${k} ${this.stallCounts[k]}`).join(', ')],
      ...conn,
    ];
  }
}

/**
 * `conn 5 · 12D3…EtUSB`: the connection id and a short peer id. Every Ed25519 peer id starts with
 * `12D3KooW`, so its end is what tells peers apart.
 */
export function connectionLabel(id: string, peer: string | null): string {
  if (peer === null) return `conn ${id}`;
  return `conn ${id} · ${peer.length > 16 ? `${peer.slice(0, 4)}…${peer.slice(-6)}` : peer}`;
}

/** The id in the model's "connection ID (peer …)" detail text. */
function connectionIdOf(detail: string): string {
  const from = detail.startsWith('connection ') ? 11 : 0;
  const end = detail.indexOf(' ', from);
  return detail.slice(from, end < 0 ? undefined : end);
}

export function reasonText(w: Record<WakeReason, number>): string {
  const parts = WAKE_REASONS.filter((k) => w[k] > 0).map((k) => `${k} ${w[k]}`);
  return parts.length ? parts.join(', ') : 'none';
}
