/**
 * Traces of span-based relays (rust-libp2p ≥ 0.53 on tokio; docs/spans.md, "One trace per
 * connection"): one trace per libp2p connection, its root `libp2p.connection` covering the
 * connection's life (established → closed), with a `libp2p.connection.poll` child for each slow
 * or blocked `Connection::poll` it kept. Ids are deterministic (trace-ids.ts): the trace from the
 * connection's first line, a poll's span from its close line, so a poll span can be exported —
 * and its exemplar set — the moment it is observed, before the connection's root, which is
 * exported when the connection closes (or at the end of input). The root starts at the earliest
 * of the connection's first line and its exported polls, so it always covers its children.
 */
import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type HrTime, type Tracer } from '@opentelemetry/api';
import type { ConnectionObservation, SpanPollObservation, TraceExemplar } from '../reactor/observations.js';
import { compareTime, type LogTime } from '../time.js';
import type { PresetIdGenerator } from './otel.js';
import { IdTag, type FileIds } from './trace-ids.js';

/** Open connections whose exported polls are remembered (for their root); beyond, the oldest is forgotten. */
const MAX_TRACKED = 20_000;

interface Tracked {
  traceId: string;
  rootId: string;
  /** Polls exported under this root, and the earliest start among them. */
  exported: number;
  earliest: LogTime;
}

export class ConnectionSpans {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly tracer: Tracer,
    private readonly ids: PresetIdGenerator,
    private readonly idsFor: (file: string) => FileIds,
  ) {}

  /** Exports the poll as a child of its connection's trace; returns its exemplar. */
  exportPoll(p: SpanPollObservation): TraceExemplar | null {
    if (p.conn === null || p.connPos === null) return null;
    const t = this.track(p.conn.id, p.connPos.file, p.connPos.offset, p.start);
    const spanId = this.idsFor(p.pos.file).spanId(p.pos.offset, IdTag.ConnectionPoll);
    const attrs: Attributes = {
      'libp2p.connection.id': p.conn.id,
      'libp2p.poll.busy_ns': p.busyNs,
      'libp2p.poll.idle_ns': p.idleNs,
      'log.file.path': p.pos.file,
      'log.file.line': p.pos.line,
      'log.file.offset': p.pos.offset,
    };
    if (p.thread) attrs['thread.name'] = p.thread;
    if (p.slow) attrs['pollscope.slow_poll'] = true;
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: t.traceId, spanId: t.rootId, traceFlags: 1 });
    const span = this.start('libp2p.connection.poll', t.traceId, spanId, p.start, parent);
    span.setAttributes(attrs);
    if (p.blocked)
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'blocked_poll: Connection::poll did not return' });
    span.end(hr(p.end));
    t.exported++;
    if (compareTime(p.start, t.earliest) < 0) t.earliest = p.start;
    return { traceId: t.traceId, spanId };
  }

  /** The connection's polls exported so far (0: its root need not be exported for them). */
  exportedPolls(id: string): number {
    return this.tracked.get(id)?.exported ?? 0;
  }

  /** The connection's trace id (for the sampling decision on its root). */
  traceIdOf(c: ConnectionObservation): string {
    return this.tracked.get(c.conn.id)?.traceId ?? this.idsFor(c.pos.file).traceId(c.pos.offset, IdTag.Connection);
  }

  /** The connection closed and its root is not exported: forget it. */
  forget(id: string): void {
    this.tracked.delete(id);
  }

  /** The connection's root span, once it closed (closed null: still open at the end of input). */
  exportRoot(c: ConnectionObservation): TraceExemplar {
    const first = c.established ?? c.firstSeen;
    const t = this.track(c.conn.id, c.pos.file, c.pos.offset, first);
    this.tracked.delete(c.conn.id);
    const start = compareTime(t.earliest, first) < 0 ? t.earliest : first;
    const end = c.closed ?? c.lastSeen;
    const attrs: Attributes = {
      'libp2p.connection.id': c.conn.id,
      'pollscope.polls': c.polls,
      'pollscope.polls_exported': t.exported,
      'libp2p.poll.busy_ns': c.busyNs,
      'libp2p.poll.max_ns': c.maxPollNs,
      'pollscope.slow_polls': c.slowPolls,
      'pollscope.blocked_polls': c.blockedPolls,
      'pollscope.lines': c.lines,
      'log.file.path': c.pos.file,
      'log.file.line': c.pos.line,
      'log.file.offset': c.pos.offset,
    };
    if (c.conn.peer !== null) attrs['libp2p.peer.id'] = c.conn.peer;
    if (c.conn.remote !== null) attrs['libp2p.remote_addr'] = c.conn.remote;
    if (c.p99PollNs !== null) attrs['libp2p.poll.p99_ns'] = Math.round(c.p99PollNs);
    if (c.established === null) attrs['pollscope.established_unknown'] = true;
    if (c.closed === null) attrs['pollscope.unfinished'] = true;
    if (c.closedWithError) attrs['libp2p.connection.closed_with_error'] = true;
    const span = this.start('libp2p.connection', t.traceId, t.rootId, start, ROOT_CONTEXT);
    span.setAttributes(attrs);
    if (c.blockedPolls > 0) span.setStatus({ code: SpanStatusCode.ERROR, message: 'blocked_poll' });
    span.end(hr(compareTime(end, start) < 0 ? start : end));
    return { traceId: t.traceId, spanId: t.rootId };
  }

  private track(id: string, file: string, offset: number, at: LogTime): Tracked {
    let t = this.tracked.get(id);
    if (t === undefined) {
      if (this.tracked.size >= MAX_TRACKED) {
        const oldest = this.tracked.keys().next().value;
        if (oldest !== undefined) this.tracked.delete(oldest);
      }
      const ids = this.idsFor(file);
      t = {
        traceId: ids.traceId(offset, IdTag.Connection),
        rootId: ids.spanId(offset, IdTag.Connection),
        exported: 0,
        earliest: at,
      };
      this.tracked.set(id, t);
    }
    return t;
  }

  private start(name: string, traceId: string, spanId: string, startTime: LogTime, parent: typeof ROOT_CONTEXT) {
    this.ids.nextTraceId = traceId;
    this.ids.nextSpanId = spanId;
    return this.tracer.startSpan(name, { startTime: hr(startTime) }, parent);
  }
}

function hr(t: LogTime): HrTime {
  return [t.sec, t.nsec];
}
