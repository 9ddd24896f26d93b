/**
 * OpenTelemetry traces of the reactor's turns (docs/spans.md).
 *
 * TurnTraceSink is a processor ObservationSink: it groups one relay's observations into turns
 * (a wait's start to the next wait's start on the same epoll fd), decides when a turn closes
 * whether to keep it, builds the kept turn's spans through @opentelemetry/sdk-trace-base with
 * the log's own timestamps, marks the turn's observations with an exemplar, and only then passes
 * them to the downstream sink (metrics) — so an exemplar never points at a dropped trace. A turn
 * closes when the next wait on its fd is observed, or at the end of input (`finish()`): the
 * downstream sink sees observations at most one turn late.
 *
 * Volume control happens here, where the whole turn is known: turns with a stall or a slow poll,
 * or whose wait or wake→poll delay passes a threshold, are always kept; other turns are kept for a
 * fraction of trace ids (the SDK's TraceIdRatioBasedSampler, so the decision is a function of the
 * deterministic id); a token bucket refilled by log time caps spans per second; a bound on spans
 * queued for export keeps memory flat when the collector is down.
 */
import { hostname } from 'node:os';
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
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type IdGenerator,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Counter, type Registry, type RegistryContentType } from 'prom-client';
import { NOTIFY_KEY } from '../decode/events.js';
import { formatEpollFlags } from '../reactor/flags.js';
import {
  STALL_KINDS,
  type ActiveStallObservation,
  type ObservationSink,
  type PollCycleObservation,
  type SourcePos,
  type StallObservation,
  type TraceExemplar,
  type UnfinishedObservation,
  type WaitObservation,
  type WakeToPollObservation,
} from '../reactor/observations.js';
import { addNs, compareTime, diffNs, formatTime, type LogTime } from '../time.js';
import { FileIds, firstLineIdentity, IdTag } from './trace-ids.js';

export interface TraceOptions {
  /** OTLP/HTTP endpoint (`--otlp-endpoint`): a base URL (`/v1/traces` is appended) or the full traces URL. Overrides OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  endpoint?: string;
  /** Fraction of ordinary turns kept (default 0.01). */
  keepFraction?: number;
  /** Spans per second of log time at most (default 2,000). Turns with a stall are kept beyond it. */
  maxSpansPerSec?: number;
  /** Keep every turn whose wait blocked at least this long (default 30 s: an idle relay's waits of a few seconds are ordinary). */
  keepWaitNs?: number;
  /** Keep every turn with a wake→poll delay at least this long (default 10 ms). */
  keepWakeToPollNs?: number;
  /** Spans in one trace at most (default 1,000; Jaeger's UI struggles past ~2,000): further poll cycles are counted on the turn's root. */
  maxSpansPerTrace?: number;
  /** Spans waiting for (or in) export at most (default 20,000): beyond it whole turns are dropped. */
  maxQueuedSpans?: number;
  /** Spans per OTLP request (default 1,000). */
  maxExportBatchSize?: number;
  /** Wait before a partial batch is sent, ms (default 1,000). */
  scheduledDelayMs?: number;
  /** Identity of a log file for ids (default: hash of its first line, see trace-ids.ts). */
  fileIdentity?: (path: string) => string;
  /** Where the once-a-minute drop summary and export errors go (default stderr). */
  log?: (message: string) => void;
}

export const TRACE_DEFAULTS = {
  keepFraction: 0.01,
  maxSpansPerSec: 2_000,
  keepWaitNs: 30e9,
  keepWakeToPollNs: 10e6,
  maxSpansPerTrace: 1_000,
  maxQueuedSpans: 20_000,
  maxExportBatchSize: 1_000,
  scheduledDelayMs: 1_000,
};

/** Traces are off unless an endpoint is configured: the flag, or the standard OTLP variables. */
export function tracesConfigured(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(endpoint || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** `--otlp-endpoint http://host:4318` → `http://host:4318/v1/traces` (as OTEL_EXPORTER_OTLP_ENDPOINT is read). */
export function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/traces')) u.pathname = u.pathname.replace(/\/?$/, '/v1/traces');
  return u.toString();
}

export type DropReason = 'sampled_out' | 'rate_limit' | 'queue_full' | 'trace_limit' | 'export_failed';
export const DROP_REASONS: readonly DropReason[] = [
  'sampled_out',
  'rate_limit',
  'queue_full',
  'trace_limit',
  'export_failed',
];

/** Why a turn was kept (root attribute `pollscope.keep`). */
export type KeepReason = 'stall' | 'slow_poll' | 'slow_wait' | 'slow_wake_to_poll' | 'sampled';

/** Counts behind pollscope_spans_exported_total, pollscope_spans_dropped_total{reason}, pollscope_export_errors_total. */
export class TraceCounters {
  spansExported = 0;
  exportErrors = 0;
  readonly spansDropped: Record<DropReason, number> = {
    sampled_out: 0,
    rate_limit: 0,
    queue_full: 0,
    trace_limit: 0,
    export_failed: 0,
  };
  turnsKept = 0;
  turnsDropped = 0;
}

/** A stall that was exported, with where to find it. */
export interface TracedStall {
  kind: StallObservation['kind'];
  start: LogTime;
  durationNs: number;
  pos: SourcePos;
  traceId: string;
  spanId: string;
}

/** Stalls remembered for the report (all are counted in the metrics). */
const MAX_TRACED_STALLS = 10_000;

/**
 * The SDK draws every id from the provider's IdGenerator (Tracer.startSpan: generateSpanId(),
 * then generateTraceId() for a root). Our ids depend on the observation, so the generator hands
 * out the ids set on it just before each startSpan — startSpan is synchronous, nothing can run in
 * between. Children get the trace id from their parent in the context, as usual.
 */
class PresetIdGenerator implements IdGenerator {
  nextTraceId = '';
  nextSpanId = '';
  generateTraceId(): string {
    return this.nextTraceId;
  }
  generateSpanId(): string {
    return this.nextSpanId;
  }
}

/** Counts what the OTLP exporter did with each batch; everything else is the exporter's own. */
class CountingExporter implements SpanExporter {
  inFlight = 0;
  constructor(
    private readonly inner: SpanExporter,
    private readonly counters: TraceCounters,
    private readonly onError: (e: string) => void,
  ) {}

  export(spans: ReadableSpan[], resultCallback: Parameters<SpanExporter['export']>[1]): void {
    const n = spans.length;
    this.inner.export(spans, (result) => {
      this.inFlight -= n;
      if (result.code === 0 /* ExportResultCode.SUCCESS */) this.counters.spansExported += n;
      else {
        this.counters.exportErrors++;
        this.counters.spansDropped.export_failed += n;
        this.onError(result.error?.message ?? 'export failed');
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

interface PollItem {
  obs: PollCycleObservation;
  delay: WakeToPollObservation | null;
  stall: StallObservation | null;
  spanId: string;
}

/** One reactor turn on an epoll fd, while it is open. */
class Turn {
  polls: PollItem[] = [];
  /** Wake→poll delays whose poll cycle has not ended yet (or was not seen). */
  delays: WakeToPollObservation[] = [];
  stalls: StallObservation[] = [];
  unfinished: UnfinishedObservation[] = [];
  /** Poll cycles past maxSpansPerTrace: passed on at once, counted on the root. */
  pollsOmitted = 0;
  /** Latest log time any observation of the turn reached (the end of a turn closed by end of input). */
  last: LogTime;

  constructor(
    readonly wait: WaitObservation,
    readonly start: LogTime,
    readonly ids: FileIds,
    readonly traceId: string,
    public prev: Turn | null,
  ) {
    this.last = wait.end;
  }

  get rootSpanId(): string {
    return this.ids.spanId(this.wait.pos.offset, IdTag.Turn);
  }

  see(t: LogTime): void {
    if (compareTime(t, this.last) > 0) this.last = t;
  }
}

export class TurnTraceSink implements ObservationSink {
  readonly counters = new TraceCounters();
  readonly tracedStalls: TracedStall[] = [];
  /** Log time span of everything seen (for the Jaeger search hint). */
  firstTime: LogTime | null = null;
  lastTime: LogTime | null = null;

  private readonly opts: Required<Omit<TraceOptions, 'endpoint' | 'fileIdentity' | 'log'>>;
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly ids = new PresetIdGenerator();
  private readonly exporter: CountingExporter;
  private readonly sampler: TraceIdRatioBasedSampler;
  private readonly fileIdentity: (path: string) => string;
  private readonly log: (message: string) => void;
  private readonly fileIds = new Map<string, FileIds>();
  private readonly turns = new Map<number, Turn>();
  /** Last turn per fd, open or closed: the next turn links to its root (ids made only if it is exported). */
  private readonly lastTurn = new Map<number, Turn>();
  private current: Turn | null = null;
  private tokens: number;
  private tokensAt: LogTime | null = null;
  private lastDropLog = 0;
  private lastExportError = '';
  private droppedAtLastLog = 0;
  private finished = false;
  private stopped = false;

  constructor(
    readonly relay: string,
    options: TraceOptions = {},
    private readonly downstream: ObservationSink | null = null,
  ) {
    this.opts = {
      keepFraction: options.keepFraction ?? TRACE_DEFAULTS.keepFraction,
      maxSpansPerSec: options.maxSpansPerSec ?? TRACE_DEFAULTS.maxSpansPerSec,
      keepWaitNs: options.keepWaitNs ?? TRACE_DEFAULTS.keepWaitNs,
      keepWakeToPollNs: options.keepWakeToPollNs ?? TRACE_DEFAULTS.keepWakeToPollNs,
      maxSpansPerTrace: Math.max(3, options.maxSpansPerTrace ?? TRACE_DEFAULTS.maxSpansPerTrace),
      maxQueuedSpans: options.maxQueuedSpans ?? TRACE_DEFAULTS.maxQueuedSpans,
      maxExportBatchSize: options.maxExportBatchSize ?? TRACE_DEFAULTS.maxExportBatchSize,
      scheduledDelayMs: options.scheduledDelayMs ?? TRACE_DEFAULTS.scheduledDelayMs,
    };
    this.tokens = this.opts.maxSpansPerSec;
    this.fileIdentity = options.fileIdentity ?? firstLineIdentity;
    this.log = options.log ?? ((m) => process.stderr.write(`pollscope: traces (${relay}): ${m}\n`));
    this.sampler = new TraceIdRatioBasedSampler(this.opts.keepFraction);

    // service.name: the relay unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say otherwise
    // (the env detector's attributes win the merge).
    const host = hostname();
    const resource = resourceFromAttributes({
      'service.name': relay,
      'service.instance.id': `${relay}@${host}`,
      'host.name': host,
    }).merge(detectResources({ detectors: [envDetector] }));

    // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, compression) itself;
    // only an explicit --otlp-endpoint is passed, and wins.
    // A flush hands every queued batch to the exporter at once; let it take them all (memory is
    // bounded by maxQueuedSpans either way) instead of failing the ones past its default limit of 30.
    const batch = Math.min(this.opts.maxExportBatchSize, this.opts.maxQueuedSpans);
    const concurrencyLimit = Math.max(30, Math.ceil(this.opts.maxQueuedSpans / batch) + 2);
    const otlp = new OTLPTraceExporter(
      options.endpoint ? { url: tracesUrl(options.endpoint), concurrencyLimit } : { concurrencyLimit },
    );
    this.exporter = new CountingExporter(otlp, this.counters, (e) => {
      this.lastExportError = e;
      this.logDrops(false);
    });
    this.provider = new BasicTracerProvider({
      resource,
      // Sampling is decided per turn before any span is made: every span started is exported.
      sampler: new AlwaysOnSampler(),
      idGenerator: this.ids,
      spanProcessors: [
        new BatchSpanProcessor(this.exporter, {
          // One more than our own bound, so the processor never drops a span we did not count.
          maxQueueSize: this.opts.maxQueuedSpans + 1,
          maxExportBatchSize: batch,
          scheduledDelayMillis: this.opts.scheduledDelayMs,
        }),
      ],
    });
    this.tracer = this.provider.getTracer('pollscope');
  }

  // ---- ObservationSink -------------------------------------------------------------------

  wait(w: WaitObservation): void {
    const start = turnStart(w);
    this.seeTime(start);
    this.seeTime(w.end);
    const ids = this.idsFor(w.pos.file);
    const open = this.turns.get(w.fd);
    const turn = new Turn(w, start, ids, ids.traceId(w.pos.offset), this.lastTurn.get(w.fd) ?? null);
    this.lastTurn.set(w.fd, turn);
    this.turns.set(w.fd, turn);
    if (open !== undefined) {
      // Poll cycles (and what goes with them) that began after this wait began belong to the new turn.
      this.moveLate(open, turn);
      this.close(open, start);
    }
    this.current = turn;
  }

  pollCycle(p: PollCycleObservation): void {
    this.seeTime(p.end);
    const turn = this.turnAt(p.start);
    if (turn === null) {
      this.downstream?.pollCycle?.(p);
      return;
    }
    turn.see(p.end);
    if (turn.polls.length + 2 >= this.opts.maxSpansPerTrace) {
      turn.pollsOmitted++;
      this.counters.spansDropped.trace_limit++;
      this.downstream?.pollCycle?.(p);
      return;
    }
    let delay: WakeToPollObservation | null = null;
    for (let i = turn.delays.length - 1; i >= 0; i--) {
      if (turn.delays[i].pos.offset === p.pos.offset && turn.delays[i].pos.file === p.pos.file) {
        delay = turn.delays[i];
        turn.delays.splice(i, 1);
        break;
      }
    }
    const ids = p.pos.file === turn.wait.pos.file ? turn.ids : this.idsFor(p.pos.file);
    turn.polls.push({ obs: p, delay, stall: null, spanId: ids.spanId(p.pos.offset, IdTag.Poll) });
  }

  wakeToPoll(d: WakeToPollObservation): void {
    this.seeTime(d.pollStart);
    const turn = this.turnAt(d.pollStart);
    // Held only while its poll cycle may still come into the turn's spans (bounded like them).
    if (turn === null || turn.delays.length >= this.opts.maxSpansPerTrace) {
      this.downstream?.wakeToPoll?.(d);
      return;
    }
    turn.see(d.pollStart);
    turn.delays.push(d);
  }

  stall(s: StallObservation): void {
    this.seeTime(s.end);
    const isPollStall = s.kind === 'slow_poll' || s.kind === 'blocked_poll';
    const turn = this.turnAt(isPollStall ? s.start : s.end);
    if (turn === null) {
      this.loneStall(s);
      return;
    }
    turn.see(s.end);
    if (isPollStall) {
      // Reported right after its poll cycle: mark that cycle's span.
      for (let i = turn.polls.length - 1; i >= 0; i--) {
        const item = turn.polls[i];
        if (item.obs.pos.offset === s.pos.offset && item.obs.pos.file === s.pos.file) {
          item.stall = s;
          return;
        }
      }
    }
    if (turn.stalls.length + turn.polls.length + 2 >= this.opts.maxSpansPerTrace) {
      this.counters.spansDropped.trace_limit++;
      this.downstream?.stall?.(s);
      return;
    }
    turn.stalls.push(s);
  }

  unfinished(u: UnfinishedObservation): void {
    this.seeTime(u.since);
    const turn = (u.fd !== undefined ? this.turns.get(u.fd) : undefined) ?? this.turnAt(u.since);
    if (turn === null) {
      this.downstream?.unfinished?.(u);
      return;
    }
    turn.unfinished.push(u);
  }

  /** Live stalls are not held back: the daemon's gauge must follow them as they happen. */
  activeStall(a: ActiveStallObservation | null): void {
    this.downstream?.activeStall?.(a);
  }

  /** End of input: close every open turn (at the last log time it reached) and pass everything on. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const turn of this.turns.values()) this.close(turn, turn.last);
    this.turns.clear();
    this.current = null;
    this.downstream?.finish?.();
  }

  // ---- export control ----------------------------------------------------------------------

  /** Spans started and not yet answered by the collector. */
  get queuedSpans(): number {
    return this.exporter.inFlight;
  }

  /**
   * For a reader that can wait (replay, not the live daemon): null while the export queue is
   * below half its bound, else a promise that resolves once it is (or after `maxWaitMs`). Awaited
   * between chunks it paces reading to the collector, so a replay with a high --trace-sample loses
   * nothing to queue_full.
   */
  backpressure(maxWaitMs = 30_000): Promise<void> | null {
    const low = this.opts.maxQueuedSpans / 2;
    if (this.exporter.inFlight <= low) return null;
    const until = Date.now() + maxWaitMs;
    return (async () => {
      while (this.exporter.inFlight > low && Date.now() < until) await sleep(5);
    })();
  }

  /**
   * Sends what is queued and waits until the collector answered every span (or the exporter gave
   * up on it: counted, not thrown), at most `deadlineMs`. Resolves whether everything went.
   */
  async forceFlush(deadlineMs = 30_000): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    while (this.exporter.inFlight > 0 && Date.now() < until) {
      // The processor's flush rejects on the first failed batch while others are still out: go round.
      await Promise.race([this.provider.forceFlush().catch(() => undefined), sleep(Math.max(1, until - Date.now()))]);
      if (this.exporter.inFlight > 0) await sleep(Math.min(20, Math.max(1, until - Date.now())));
    }
    return this.exporter.inFlight === 0;
  }

  /** Closes the open turns, flushes with a deadline, then stops the exporter (SIGTERM, end of replay). */
  async shutdown(deadlineMs = 5_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.finish();
    await this.forceFlush(deadlineMs);
    await Promise.race([this.provider.shutdown().catch(() => undefined), sleep(200)]);
    this.logDrops(true);
  }

  // ---- turns ---------------------------------------------------------------------------------

  private idsFor(file: string): FileIds {
    let ids = this.fileIds.get(file);
    if (ids === undefined) {
      if (this.fileIds.size >= 1_000) this.fileIds.clear(); // a daemon following rotations for months
      ids = new FileIds(this.relay, this.fileIdentity(file));
      this.fileIds.set(file, ids);
    }
    return ids;
  }

  private seeTime(t: LogTime): void {
    if (this.firstTime === null || compareTime(t, this.firstTime) < 0) this.firstTime = t;
    if (this.lastTime === null || compareTime(t, this.lastTime) > 0) this.lastTime = t;
  }

  /** The open turn an observation at `t` belongs to: the latest-starting one that began by then. */
  private turnAt(t: LogTime): Turn | null {
    if (this.turns.size <= 1) return this.current;
    let best: Turn | null = null;
    for (const turn of this.turns.values()) {
      if (compareTime(turn.start, t) <= 0 && (best === null || compareTime(turn.start, best.start) > 0)) best = turn;
    }
    return best ?? this.current;
  }

  private moveLate(from: Turn, to: Turn): void {
    const s = to.start;
    if (from.polls.length > 0 && compareTime(from.polls[from.polls.length - 1].obs.start, s) >= 0) {
      const keep: PollItem[] = [];
      for (const item of from.polls) {
        if (compareTime(item.obs.start, s) >= 0) {
          to.polls.push(item);
          to.see(item.obs.end);
        } else keep.push(item);
      }
      from.polls = keep;
    }
    if (from.delays.length > 0) {
      const keep: WakeToPollObservation[] = [];
      for (const d of from.delays) (compareTime(d.pollStart, s) >= 0 ? to.delays : keep).push(d);
      from.delays = keep;
    }
    if (from.stalls.length > 0) {
      const keep: StallObservation[] = [];
      // A starved stall goes with the late poll that ended it; a silence with where it began.
      for (const st of from.stalls)
        (compareTime(st.kind === 'silent' ? st.start : st.end, s) >= 0 &&
        st.kind !== 'slow_poll' &&
        st.kind !== 'blocked_poll'
          ? to.stalls
          : keep
        ).push(st);
      from.stalls = keep;
    }
  }

  private keepReason(turn: Turn): KeepReason | null {
    let slowPoll = false;
    for (const st of turn.stalls)
      if (st.kind !== 'slow_poll') return 'stall';
      else slowPoll = true;
    for (const p of turn.polls) {
      if (p.stall !== null) {
        if (p.stall.kind === 'blocked_poll') return 'stall';
        slowPoll = true;
      }
    }
    if (slowPoll) return 'slow_poll';
    if (turn.wait.durationNs !== null && turn.wait.durationNs >= this.opts.keepWaitNs) return 'slow_wait';
    for (const p of turn.polls)
      if (p.delay !== null && p.delay.delayNs >= this.opts.keepWakeToPollNs) return 'slow_wake_to_poll';
    for (const d of turn.delays) if (d.delayNs >= this.opts.keepWakeToPollNs) return 'slow_wake_to_poll';
    if (this.sampler.shouldSample(ROOT_CONTEXT, turn.traceId).decision === SamplingDecision.RECORD_AND_SAMPLED)
      return 'sampled';
    return null;
  }

  private close(turn: Turn, end: LogTime): void {
    if (compareTime(end, turn.start) < 0) end = turn.start;
    const spans = 2 + turn.polls.length + turn.stalls.length;
    const reason = this.keepReason(turn);
    let drop: DropReason | null = reason === null ? 'sampled_out' : null;
    if (drop === null) {
      // Token bucket in log time: a replay exports what the daemon would have, whatever its speed.
      const rate = this.opts.maxSpansPerSec;
      if (this.tokensAt !== null) {
        const dt = diffNs(this.tokensAt, end);
        if (dt > 0) this.tokens = Math.min(rate, this.tokens + (dt / 1e9) * rate);
      }
      if (this.tokensAt === null || compareTime(end, this.tokensAt) > 0) this.tokensAt = end;
      // A turn passes while the bucket is not empty and may overdraw it (a turn is never cut):
      // over any stretch, spans ≤ rate × seconds + one second's burst + one turn.
      if (reason !== 'stall' && this.tokens <= 0) drop = 'rate_limit';
      else this.tokens -= spans;
    }
    if (drop === null && this.exporter.inFlight + spans > this.opts.maxQueuedSpans) drop = 'queue_full';
    if (drop !== null) {
      this.counters.spansDropped[drop] += spans;
      this.counters.turnsDropped++;
      if (drop !== 'sampled_out') this.logDrops(false);
    } else {
      this.counters.turnsKept++;
      this.exporter.inFlight += spans;
      this.exportTurn(turn, end, reason!);
    }
    this.forward(turn);
    turn.prev = null; // only the open turn's predecessor is needed: no chain of closed turns is kept
  }

  private forward(turn: Turn): void {
    const d = this.downstream;
    if (d === null) return;
    d.wait?.(turn.wait);
    for (const p of turn.polls) {
      if (p.delay !== null) d.wakeToPoll?.(p.delay);
      d.pollCycle?.(p.obs);
      if (p.stall !== null) d.stall?.(p.stall);
    }
    for (const x of turn.delays) d.wakeToPoll?.(x);
    for (const s of turn.stalls) d.stall?.(s);
    for (const u of turn.unfinished) d.unfinished?.(u);
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

  private exportTurn(turn: Turn, end: LogTime, reason: KeepReason): void {
    const w = turn.wait;
    const ids = turn.ids;
    const traceId = turn.traceId;
    const rootId = ids.spanId(w.pos.offset, IdTag.Turn);
    const rootFile = w.pos.file;
    const rootAttrs: Attributes = {
      'epoll.fd': w.fd,
      'pollscope.keep': reason,
      'pollscope.poll_cycles': turn.polls.length + turn.pollsOmitted,
      'log.file.path': w.pos.file,
      'log.file.line': w.pos.line,
      'log.file.offset': w.pos.offset,
    };
    if (turn.pollsOmitted > 0) rootAttrs['pollscope.poll_cycles_omitted'] = turn.pollsOmitted;
    const links: Link[] | undefined = turn.prev
      ? [
          {
            context: { traceId: turn.prev.traceId, spanId: turn.prev.rootSpanId, traceFlags: 1 },
            attributes: { 'pollscope.link': 'previous_turn' },
          },
        ]
      : undefined;
    const root = this.start('reactor.turn', traceId, rootId, turn.start, rootAttrs, ROOT_CONTEXT, links);
    const inRoot = trace.setSpan(ROOT_CONTEXT, root);
    let rootError = false;

    // epoll.wait: the blocked time (start → wake); the span ends when the wait's end was logged.
    const waitId = ids.spanId(w.pos.offset, IdTag.Wait);
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
    if (w.pos.file !== rootFile) waitAttrs['log.file.path'] = w.pos.file;
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
    const waitSpan = this.start('epoll.wait', traceId, waitId, turn.start, waitAttrs, inRoot);
    // The span is the blocked time (the wait's end line, ready list processed, comes µs later).
    waitSpan.end(hr(w.wake));
    w.exemplar = { traceId, spanId: waitId };

    for (const item of turn.polls) {
      const p = item.obs;
      const attrs: Attributes = {
        'log.file.line': p.pos.line,
      };
      if (p.pos.file !== rootFile) attrs['log.file.path'] = p.pos.file;
      if (p.durationNs !== diffNs(p.start, p.end)) attrs['swarm.poll.busy_ns'] = p.durationNs;
      if (p.ready !== null) attrs['swarm.poll.result'] = p.ready ? 'ready' : 'pending';
      if (p.thread) attrs['thread.name'] = p.thread;
      if (p.imprecise) attrs['pollscope.imprecise'] = true;
      if (item.delay !== null) attrs['pollscope.wake_to_poll_ns'] = item.delay.delayNs;
      const span = this.start('swarm.poll_next', traceId, item.spanId, p.start, attrs, inRoot);
      const ex: TraceExemplar = { traceId, spanId: item.spanId };
      if (item.stall !== null) {
        const st = item.stall;
        span.setAttributes({ 'pollscope.stall.kind': st.kind, 'pollscope.stall.duration_ns': st.durationNs });
        if (st.kind === 'slow_poll') span.setAttribute('pollscope.slow_poll', true);
        else {
          span.setStatus({ code: SpanStatusCode.ERROR, message: `${st.kind}: ${st.detail}` });
          rootError = true;
        }
        st.exemplar = ex;
        this.traced(st, ex);
      }
      span.end(hr(p.end));
      p.exemplar = ex;
      if (item.delay !== null) item.delay.exemplar = ex;
    }
    for (const d of turn.delays) d.exemplar = { traceId, spanId: rootId };

    for (const st of turn.stalls) {
      const spanId = ids.spanId(st.pos.offset, IdTag.Stall + STALL_KINDS.indexOf(st.kind));
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
        inRoot,
      );
      if (st.kind !== 'slow_poll') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${st.kind}: ${st.detail}` });
        rootError = true;
      }
      span.end(hr(st.end));
      st.exemplar = { traceId, spanId };
      this.traced(st, st.exemplar);
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
      u.exemplar = { traceId, spanId: rootId };
    }
    if (rootError) root.setStatus({ code: SpanStatusCode.ERROR, message: 'stall' });
    root.end(hr(end));
  }

  /**
   * A stall before any wait was seen (a log with swarm lines but no reactor lines, or its start):
   * no turn to put it in, so it is a trace of its own, kept like every stall.
   */
  private loneStall(st: StallObservation): void {
    const ids = this.idsFor(st.pos.file);
    const spans = 1;
    if (st.kind === 'slow_poll' || this.exporter.inFlight + spans > this.opts.maxQueuedSpans) {
      if (st.kind !== 'slow_poll') {
        this.counters.spansDropped.queue_full += spans;
        this.logDrops(false);
      }
      this.downstream?.stall?.(st);
      return;
    }
    const tag = IdTag.Stall + STALL_KINDS.indexOf(st.kind);
    const traceId = ids.traceId(st.pos.offset, tag);
    const spanId = ids.spanId(st.pos.offset, tag);
    this.exporter.inFlight += spans;
    this.counters.turnsKept++;
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
      ROOT_CONTEXT,
    );
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${st.kind}: ${st.detail}` });
    span.end(hr(st.end));
    st.exemplar = { traceId, spanId };
    this.traced(st, st.exemplar);
    this.downstream?.stall?.(st);
  }

  private traced(st: StallObservation, ex: TraceExemplar): void {
    if (this.tracedStalls.length < MAX_TRACED_STALLS) {
      this.tracedStalls.push({
        kind: st.kind,
        start: st.start,
        durationNs: st.durationNs,
        pos: st.pos,
        traceId: ex.traceId,
        spanId: ex.spanId,
      });
    }
  }

  /** Drops other than sampling, and export errors, are logged at most once a minute (wall clock: it is for the operator). */
  private logDrops(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDropLog < 60_000) return;
    const d = this.counters.spansDropped;
    const total = d.rate_limit + d.queue_full + d.trace_limit + d.export_failed;
    if (total === this.droppedAtLastLog) return;
    this.lastDropLog = now;
    this.droppedAtLastLog = total;
    this.log(
      `spans dropped so far: rate_limit ${d.rate_limit}, queue_full ${d.queue_full}, trace_limit ${d.trace_limit}, export_failed ${d.export_failed} (exported ${this.counters.spansExported})` +
        (this.lastExportError
          ? `; last export error (${this.counters.exportErrors} so far): ${this.lastExportError}`
          : ''),
    );
  }
}

/** A wait whose start was not logged: its turn starts at the quiet time before the wake, else the wake. */
function turnStart(w: WaitObservation): LogTime {
  if (w.start !== null) return w.start;
  if (w.gapBeforeNs !== null && w.gapBeforeNs > 0) return addNs(w.wake, -w.gapBeforeNs);
  return w.wake;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function hr(t: LogTime): HrTime {
  return [t.sec, t.nsec];
}

/** Jaeger UI link to one trace. */
export function jaegerTraceUrl(ui: string, traceId: string): string {
  return `${ui.replace(/\/+$/, '')}/trace/${traceId}`;
}

/** The log-time window to set in Jaeger's search (it searches a time range, by default the last hour of wall time). */
export function jaegerSearchHint(sink: TurnTraceSink): string | null {
  if (sink.firstTime === null || sink.lastTime === null) return null;
  return `${formatTime(sink.firstTime)} … ${formatTime(sink.lastTime)}`;
}

/**
 * pollscope_spans_exported_total, pollscope_spans_dropped_total{reason}, pollscope_export_errors_total
 * on the metrics registry (src/export/metrics.ts owns it), read from the trace sinks at scrape time.
 */
export function registerTraceCounters(
  registry: Registry<RegistryContentType>,
  sinks: () => Iterable<TurnTraceSink>,
): void {
  const sum = (read: (c: TraceCounters) => number): number => {
    let n = 0;
    for (const s of sinks()) n += read(s.counters);
    return n;
  };
  new Counter({
    name: 'pollscope_spans_exported_total',
    help: 'Spans the OTLP collector accepted.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sum((c) => c.spansExported));
    },
  });
  new Counter({
    name: 'pollscope_export_errors_total',
    help: "OTLP export requests that failed (after the exporter's retries).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sum((c) => c.exportErrors));
    },
  });
  new Counter({
    name: 'pollscope_spans_dropped_total',
    labelNames: ['reason'],
    registers: [registry],
    help: 'Spans not exported, by reason: sampled_out (ordinary turn not sampled), rate_limit (spans/s cap), queue_full (collector behind or down), trace_limit (poll cycles past the per-trace bound), export_failed (the collector refused them or was unreachable).',
    collect() {
      this.reset();
      for (const reason of DROP_REASONS)
        this.inc(
          { reason },
          sum((c) => c.spansDropped[reason]),
        );
    },
  });
}

/** What `replay --json` adds under `traces`. */
export interface TraceSummary {
  endpoint: string;
  /** Set Jaeger's search to this log-time range (it defaults to the last hour of wall time). */
  logTimeRange: { from: string; to: string } | null;
  turnsKept: number;
  turnsDropped: number;
  spansExported: number;
  spansDropped: Record<DropReason, number>;
  exportErrors: number;
  stalls: Array<{ kind: string; start: string; durationNs: number; traceId: string; spanId: string; url?: string }>;
}

export function traceSummary(sink: TurnTraceSink, endpoint: string, jaegerUi?: string): TraceSummary {
  const c = sink.counters;
  return {
    endpoint,
    logTimeRange:
      sink.firstTime && sink.lastTime ? { from: formatTime(sink.firstTime), to: formatTime(sink.lastTime) } : null,
    turnsKept: c.turnsKept,
    turnsDropped: c.turnsDropped,
    spansExported: c.spansExported,
    spansDropped: { ...c.spansDropped },
    exportErrors: c.exportErrors,
    stalls: sink.tracedStalls.map((s) => ({
      kind: s.kind,
      start: formatTime(s.start),
      durationNs: s.durationNs,
      traceId: s.traceId,
      spanId: s.spanId,
      ...(jaegerUi ? { url: jaegerTraceUrl(jaegerUi, s.traceId) } : {}),
    })),
  };
}

/** The text report's traces section: each stall's trace id (and Jaeger link), and the time-range reminder. */
export function formatTraceSummary(t: TraceSummary): string {
  const out: string[] = [''];
  const d = t.spansDropped;
  out.push(
    `Traces (OTLP ${t.endpoint}): ${t.turnsKept} turns kept, ${t.turnsDropped} dropped; ${t.spansExported} spans exported` +
      ` (not exported: sampled_out ${d.sampled_out}, rate_limit ${d.rate_limit}, queue_full ${d.queue_full}, trace_limit ${d.trace_limit}, export_failed ${d.export_failed}; export errors ${t.exportErrors})`,
  );
  if (t.logTimeRange) {
    out.push(
      `  Spans carry the log's timestamps: set Jaeger's search time range to ${t.logTimeRange.from} … ${t.logTimeRange.to} (its default, the last hour, finds nothing).`,
    );
  }
  if (t.stalls.length === 0) out.push('  No stall traces.');
  for (const s of t.stalls.slice(0, 50)) {
    out.push(`  ${s.kind.padEnd(12)} ${s.start}  trace ${s.traceId}${s.url ? `  ${s.url}` : ''}`);
  }
  if (t.stalls.length > 50) out.push(`  … ${t.stalls.length - 50} more (--json lists them)`);
  return out.join('\n') + '\n';
}
