/**
 * The spans of a kept turn (docs/spans.md, "One trace per reactor turn"): `reactor.turn` →
 * `epoll.wait`, `swarm.poll_next`, `reactor.stall`, with the log's own timestamps and the
 * deterministic ids of trace-ids.ts. Each observation shown gets the exemplar of its span.
 */
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type HrTime,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { NOTIFY_KEY } from '../decode/events.js';
import { formatEpollFlags } from '../reactor/flags.js';
import { STALL_KINDS, type StallObservation, type TraceExemplar } from '../reactor/observations.js';
import { compareTime, diffNs, type LogTime } from '../time.js';
import type { PresetIdGenerator } from './otel.js';
import { IdTag, type FileIds } from './trace-ids.js';
import type { KeepReason } from './trace-policy.js';
import type { PollItem, Turn } from './turns.js';

export class TurnSpans {
  constructor(
    private readonly tracer: Tracer,
    private readonly ids: PresetIdGenerator,
    /** A stall was exported in this span (for the report's list of stall traces). */
    private readonly onStallTraced: (st: StallObservation, ex: TraceExemplar) => void,
  ) {}

  /** Builds and ends every span of the turn; the processor queues them for export. */
  exportTurn(turn: Turn, end: LogTime, reason: KeepReason): void {
    // The root covers every child: a poll cycle (or stall) that began before the turn's wait
    // (a 1.5 s blocked poll in a 170 ms turn) stretches the turn back, one that ended after it forward.
    let first = turn.start;
    let last = end;
    for (const item of turn.polls) {
      if (compareTime(item.obs.start, first) < 0) first = item.obs.start;
      if (compareTime(item.obs.end, last) > 0) last = item.obs.end;
    }
    for (const st of turn.stalls) {
      if (compareTime(st.start, first) < 0) first = st.start;
      if (compareTime(st.end, last) > 0) last = st.end;
    }
    const root = this.rootSpan(turn, reason, first);
    const inRoot = trace.setSpan(ROOT_CONTEXT, root);
    this.waitSpan(turn, inRoot);
    let rootError = false;
    for (const item of turn.polls) if (this.pollSpan(turn, item, inRoot)) rootError = true;
    const rootId = turn.rootSpanId;
    for (const d of turn.delays) d.exemplar = { traceId: turn.traceId, spanId: rootId };
    for (const st of turn.stalls) {
      const spanId = turn.ids.spanId(st.pos.offset, IdTag.Stall + STALL_KINDS.indexOf(st.kind));
      if (this.stallSpan(st, turn.traceId, spanId, inRoot)) rootError = true;
    }
    for (const u of turn.unfinished) {
      root.addEvent(
        'pollscope.unfinished',
        {
          'pollscope.unfinished.what': u.what,
          'pollscope.unfinished.detail': u.detail,
          'log.file.offset': u.pos.offset,
        },
        hr(u.since),
      );
      u.exemplar = { traceId: turn.traceId, spanId: rootId };
    }
    if (rootError) root.setStatus({ code: SpanStatusCode.ERROR, message: 'stall' });
    root.end(hr(last));
  }

  /**
   * A stall before any wait was seen (a log with swarm lines but no reactor lines, or its start):
   * no turn to put it in, so it is a trace of its own.
   */
  exportLoneStall(st: StallObservation, ids: FileIds): void {
    const tag = IdTag.Stall + STALL_KINDS.indexOf(st.kind);
    this.stallSpan(st, ids.traceId(st.pos.offset, tag), ids.spanId(st.pos.offset, tag), ROOT_CONTEXT);
  }

  private start(
    name: string,
    traceId: string,
    spanId: string,
    startTime: LogTime,
    attributes: Attributes,
    parent: Context,
    links?: Link[],
  ): Span {
    this.ids.nextTraceId = traceId;
    this.ids.nextSpanId = spanId;
    // Attributes set on the started span rather than in the options: the Tracer would validate
    // them once for the sampler and the span again (our sampler is AlwaysOn, it never reads them).
    const span = this.tracer.startSpan(name, { startTime: hr(startTime), links }, parent);
    span.setAttributes(attributes);
    return span;
  }

  private rootSpan(turn: Turn, reason: KeepReason, start: LogTime): Span {
    const w = turn.wait;
    const rootAttrs: Attributes = {
      'epoll.fd': w.fd,
      'pollscope.keep': reason,
      'pollscope.poll_cycles': turn.polls.length + turn.pollsOmitted,
      'log.file.path': w.pos.file,
      'log.file.line': w.pos.line,
      'log.file.offset': w.pos.offset,
    };
    if (turn.pollsOmitted > 0) rootAttrs['pollscope.poll_cycles_omitted'] = turn.pollsOmitted;
    // Stretched back to cover a child: where the wait itself began.
    if (compareTime(start, turn.start) !== 0)
      rootAttrs['pollscope.turn.wait_start_offset_ns'] = diffNs(start, turn.start);
    const links: Link[] | undefined = turn.prev
      ? [
          {
            context: { traceId: turn.prev.traceId, spanId: turn.prev.rootSpanId, traceFlags: 1 },
            attributes: { 'pollscope.link': 'previous_turn' },
          },
        ]
      : undefined;
    return this.start('reactor.turn', turn.traceId, turn.rootSpanId, start, rootAttrs, ROOT_CONTEXT, links);
  }

  /** epoll.wait: the blocked time (start → wake); the wait's end line, ready list processed, comes µs later. */
  private waitSpan(turn: Turn, inRoot: Context): void {
    const w = turn.wait;
    const waitId = turn.ids.spanId(w.pos.offset, IdTag.Wait);
    const waitAttrs: Attributes = {
      // Attributes are most of an exported span's bytes and serialising them most of the export
      // cost: what the span's own fields (times, parent) or the root already say is not repeated.
      // The file path and byte offset are on the root; a child has its line (and the path only
      // when the turn crossed into another file by rotation).
      'epoll.fd': w.fd,
      'epoll.wake.reasons': w.reasons,
      'log.file.line': w.pos.line,
    };
    if (w.poller !== 'epoll') waitAttrs['epoll.poller'] = w.poller;
    if (w.pos.file !== turn.wait.pos.file) waitAttrs['log.file.path'] = w.pos.file;
    if (w.timeoutNs === null) waitAttrs['epoll.timeout'] = 'None';
    else if (w.timeoutNs !== undefined) waitAttrs['epoll.timeout_ns'] = w.timeoutNs;
    if (w.res !== null) waitAttrs['epoll.res'] = w.res;
    // Blocked time measured by the log itself (FmtSpan time.busy), when it is not start → wake.
    if (w.durationNs !== null && (w.start === null || w.durationNs !== diffNs(turn.start, w.wake)))
      waitAttrs['epoll.blocked_ns'] = w.durationNs;
    if (w.start === null) waitAttrs['epoll.start_unknown'] = true;
    if (w.thread) waitAttrs['thread.name'] = w.thread;
    if (w.threadMismatch) waitAttrs['pollscope.thread_mismatch'] = true;
    if (w.imprecise) waitAttrs['pollscope.imprecise'] = true;
    if (w.ready.length > 0) {
      waitAttrs['epoll.ready.keys'] = w.ready.map((r) => (r.key === NOTIFY_KEY ? 'usize::MAX' : String(r.key)));
      waitAttrs['epoll.ready.flags'] = w.ready.map((r) => formatEpollFlags(r.flags));
      waitAttrs['epoll.ready.fds'] = w.ready.map((r) => r.fd ?? -1);
    }
    if (w.notifierRearm !== null) {
      if (w.notifierRearm.flags !== null) waitAttrs['epoll.notifier.rearm'] = formatEpollFlags(w.notifierRearm.flags);
    }
    const waitSpan = this.start('epoll.wait', turn.traceId, waitId, turn.start, waitAttrs, inRoot);
    waitSpan.end(hr(w.wake));
    w.exemplar = { traceId: turn.traceId, spanId: waitId };
  }

  /** swarm.poll_next for one poll cycle; true when it carries an error status (a blocked poll). */
  private pollSpan(turn: Turn, item: PollItem, inRoot: Context): boolean {
    const p = item.obs;
    const traceId = turn.traceId;
    const attrs: Attributes = {
      'log.file.line': p.pos.line,
    };
    if (p.pos.file !== turn.wait.pos.file) attrs['log.file.path'] = p.pos.file;
    if (p.durationNs !== diffNs(p.start, p.end)) attrs['swarm.poll.busy_ns'] = p.durationNs;
    if (p.ready !== null) attrs['swarm.poll.result'] = p.ready ? 'ready' : 'pending';
    if (p.thread) attrs['thread.name'] = p.thread;
    if (p.imprecise) attrs['pollscope.imprecise'] = true;
    if (item.delay !== null) attrs['pollscope.wake_to_poll_ns'] = item.delay.delayNs;
    const span = this.start('swarm.poll_next', traceId, item.spanId, p.start, attrs, inRoot);
    const ex: TraceExemplar = { traceId, spanId: item.spanId };
    let error = false;
    if (item.stall !== null) {
      const st = item.stall;
      span.setAttributes({ 'pollscope.stall.kind': st.kind, 'pollscope.stall.duration_ns': st.durationNs });
      if (st.kind === 'slow_poll') span.setAttribute('pollscope.slow_poll', true);
      else {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${st.kind}: ${st.detail}` });
        error = true;
      }
      st.exemplar = ex;
      this.onStallTraced(st, ex);
    }
    span.end(hr(p.end));
    p.exemplar = ex;
    if (item.delay !== null) item.delay.exemplar = ex;
    return error;
  }

  /** reactor.stall (starved, silent; or a lone stall); true when it carries an error status. */
  private stallSpan(st: StallObservation, traceId: string, spanId: string, parent: Context): boolean {
    const span = this.start(
      'reactor.stall',
      traceId,
      spanId,
      st.start,
      {
        'pollscope.stall.kind': st.kind,
        'pollscope.stall.duration_ns': st.durationNs,
        'pollscope.stall.detail': st.detail,
        'log.file.path': st.pos.file,
        'log.file.line': st.pos.line,
        'log.file.offset': st.pos.offset,
      },
      parent,
    );
    const error = st.kind !== 'slow_poll';
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: `${st.kind}: ${st.detail}` });
    span.end(hr(st.end));
    st.exemplar = { traceId, spanId };
    this.onStallTraced(st, st.exemplar);
    return error;
  }
}

function hr(t: LogTime): HrTime {
  return [t.sec, t.nsec];
}
