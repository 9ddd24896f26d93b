/**
 * The report's connections section, for span-based relays (rust-libp2p ≥ 0.53 on tokio): poll
 * spans per kind, connections from established to closed, the top connections by busy time and by
 * p99 poll, their slow and blocked polls with file:line, and quiet stretches that cannot be told
 * apart from an idle executor. Bounded: distributions of fixed size, top lists of fixed length.
 */
import type {
  ConnectionObservation,
  PollSpanKind,
  QuietObservation,
  SpanPollObservation,
} from '../reactor/observations.js';
import { POLL_SPAN_KINDS, POLL_SPAN_NAMES } from '../reactor/observations.js';
import { formatDuration, formatTime } from '../time.js';
import { DurationDistribution, type DistributionSummary } from './quantiles.js';

const TOP = 10;
const MAX_SLOW_LISTED = 20;
const MAX_QUIET_LISTED = 50;

export interface ConnectionDetail {
  id: string;
  peer: string | null;
  remoteAddr: string | null;
  established: string | null;
  closed: string | null;
  closedWithError: boolean;
  polls: number;
  busyNs: number;
  p99PollNs: number | null;
  maxPollNs: number;
  slowPolls: number;
  blockedPolls: number;
  lines: number;
  at: string;
}

export interface SlowPollDetail {
  span: string;
  start: string;
  busyNs: number;
  connection: string | null;
  peer: string | null;
  remoteAddr: string | null;
  at: string;
}

export interface ConnectionsReport {
  /** Connections seen (by id), established ("Connection established" shown), closed, open at the end. */
  seen: number;
  established: number;
  closed: number;
  closedWithError: number;
  openAtEnd: number;
  /** Poll spans with timing, per span name: count, slow (≥ --slow-connection-poll), durations (busy). */
  polls: Record<string, { count: number; slow: number; busy: DistributionSummary | null }>;
  topByBusy: ConnectionDetail[];
  topByP99: ConnectionDetail[];
  slowPolls: { count: number; list: SlowPollDetail[] };
  quiet: {
    count: number;
    list: Array<{ start: string; end: string; durationNs: number; openConnections: number; at: string }>;
  };
  /** What these logs cannot show, said plainly. */
  notes: string[];
}

export class ConnectionsCollector {
  private readonly busy: Record<PollSpanKind, DurationDistribution> = {
    pool: new DurationDistribution(),
    connection: new DurationDistribution(),
    handler: new DurationDistribution(),
    behaviour: new DurationDistribution(),
  };
  private readonly slow: Record<PollSpanKind, number> = { pool: 0, connection: 0, handler: 0, behaviour: 0 };
  private seen = 0;
  private established = 0;
  private closed = 0;
  private closedWithError = 0;
  private openAtEnd = 0;
  private readonly topBusy: ConnectionObservation[] = [];
  private readonly topP99: ConnectionObservation[] = [];
  private slowCount = 0;
  private readonly slowList: SpanPollObservation[] = [];
  private quietCount = 0;
  private readonly quietList: QuietObservation[] = [];

  spanPoll(p: SpanPollObservation): void {
    this.busy[p.span].add(p.busyNs);
    if (!p.slow) return;
    this.slow[p.span]++;
    // The slowest polls, Connection::poll first choice: the handler poll inside repeats its time.
    if (p.span === 'handler') return;
    this.slowCount++;
    keepTop(this.slowList, p, MAX_SLOW_LISTED, (x) => x.busyNs);
  }

  connection(c: ConnectionObservation): void {
    this.seen++;
    if (c.established !== null) this.established++;
    if (c.closed !== null) this.closed++;
    else this.openAtEnd++;
    if (c.closedWithError) this.closedWithError++;
    if (c.polls === 0) return;
    keepTop(this.topBusy, c, TOP, (x) => x.busyNs);
    keepTop(this.topP99, c, TOP, (x) => x.p99PollNs ?? 0);
  }

  quiet(q: QuietObservation): void {
    this.quietCount++;
    if (this.quietList.length < MAX_QUIET_LISTED) this.quietList.push(q);
  }

  /** null when the log showed no libp2p connection or poll span. */
  summary(): ConnectionsReport | null {
    const polls = POLL_SPAN_KINDS.reduce((n, k) => n + this.busy[k].count, 0);
    if (this.seen === 0 && polls === 0) return null;
    const notes: string[] = [];
    if (polls === 0) {
      notes.push(
        'no span timing in this log (the subscriber writes no FmtSpan close lines): poll durations, slow and blocked polls cannot be measured; connections are known from the lines logged inside their spans',
      );
    }
    notes.push(
      'no reactor lines (tokio and mio log no epoll waits): an idle executor and a blocked one look the same, so starvation and silence cannot be proven; gaps with connections open are listed as quiet stretches, not counted as stalls',
    );
    return {
      seen: this.seen,
      established: this.established,
      closed: this.closed,
      closedWithError: this.closedWithError,
      openAtEnd: this.openAtEnd,
      polls: Object.fromEntries(
        POLL_SPAN_KINDS.filter((k) => this.busy[k].count > 0).map((k) => [
          POLL_SPAN_NAMES[k],
          { count: this.busy[k].count, slow: this.slow[k], busy: this.busy[k].summary() },
        ]),
      ),
      topByBusy: this.topBusy.map(connectionDetail),
      topByP99: this.topP99.map(connectionDetail),
      slowPolls: {
        count: this.slowCount,
        list: this.slowList.map((p) => ({
          span: POLL_SPAN_NAMES[p.span],
          start: formatTime(p.start),
          busyNs: p.busyNs,
          connection: p.conn?.id ?? null,
          peer: p.conn?.peer ?? null,
          remoteAddr: p.conn?.remote ?? null,
          at: `${p.pos.file}:${p.pos.line}`,
        })),
      },
      quiet: {
        count: this.quietCount,
        list: this.quietList.map((q) => ({
          start: formatTime(q.start),
          end: formatTime(q.end),
          durationNs: q.durationNs,
          openConnections: q.openConnections,
          at: `${q.pos.file}:${q.pos.line}`,
        })),
      },
      notes,
    };
  }
}

/** Keeps the `max` largest by `key`, largest first (lists of ≤ 20: a sort per insert is cheap). */
function keepTop<T>(list: T[], item: T, max: number, key: (x: T) => number): void {
  if (list.length >= max && key(item) <= key(list[list.length - 1])) return;
  list.push(item);
  list.sort((a, b) => key(b) - key(a));
  if (list.length > max) list.pop();
}

function connectionDetail(c: ConnectionObservation): ConnectionDetail {
  return {
    id: c.conn.id,
    peer: c.conn.peer,
    remoteAddr: c.conn.remote,
    established: c.established && formatTime(c.established),
    closed: c.closed && formatTime(c.closed),
    closedWithError: c.closedWithError,
    polls: c.polls,
    busyNs: c.busyNs,
    p99PollNs: c.p99PollNs,
    maxPollNs: c.maxPollNs,
    slowPolls: c.slowPolls,
    blockedPolls: c.blockedPolls,
    lines: c.lines,
    at: `${c.pos.file}:${c.pos.line}`,
  };
}

const d = (ns: number | null): string => (ns === null ? '—' : formatDuration(ns));

function dist(s: DistributionSummary | null): string {
  if (s === null) return 'none';
  return `n=${s.count}  p50 ${d(s.p50Ns)}  p99 ${d(s.p99Ns)}  max ${d(s.maxNs)}`;
}

/** The section's text lines. */
export function formatConnections(r: ConnectionsReport): string[] {
  const out: string[] = [];
  out.push(
    `Connections: ${r.seen} seen  established ${r.established}  closed ${r.closed}` +
      (r.closedWithError ? ` (${r.closedWithError} with error)` : '') +
      `  open at end ${r.openAtEnd}`,
  );
  for (const [name, p] of Object.entries(r.polls)) {
    out.push(`  ${name.padEnd(24)} ${dist(p.busy)}  slow ${p.slow}`);
  }
  const row = (c: ConnectionDetail): string =>
    `    ${c.id.padStart(5)}  polls ${String(c.polls).padStart(6)}  busy ${d(c.busyNs).padStart(10)}  p99 ${d(c.p99PollNs).padStart(10)}  max ${d(c.maxPollNs).padStart(10)}  slow ${c.slowPolls}  ${c.peer ?? '?'}  ${c.remoteAddr ?? ''}`;
  if (r.topByBusy.length > 0) {
    out.push('  top connections by busy time (Connection::poll):');
    for (const c of r.topByBusy) out.push(row(c));
    out.push('  top connections by p99 poll:');
    for (const c of r.topByP99) out.push(row(c));
  }
  if (r.slowPolls.count > 0) {
    out.push(`  slowest polls (${r.slowPolls.count} slow in all):`);
    for (const p of r.slowPolls.list) {
      out.push(
        `    ${p.start}  ${d(p.busyNs).padStart(10)}  ${p.span}${p.connection === null ? '' : ` connection ${p.connection} ${p.peer ?? ''}`}  ${p.at}`,
      );
    }
  }
  if (r.quiet.count > 0) {
    out.push(`  quiet stretches with connections open (not stalls: see below): ${r.quiet.count}`);
    for (const q of r.quiet.list.slice(0, 10)) {
      out.push(`    ${q.start}  ${d(q.durationNs).padStart(10)}  ${q.openConnections} open  ${q.at}`);
    }
  }
  for (const n of r.notes) out.push(`  note: ${n}`);
  return out;
}
