/**
 * OpenTelemetry traces of the reactor's turns (docs/spans.md).
 *
 * TurnTraceSink is a processor ObservationSink: it groups one relay's observations into turns
 * (turns.ts), decides when a turn closes whether to keep it (trace-policy.ts, plus the bound on
 * spans queued for export), has the kept turn's spans built with the log's own timestamps
 * (turn-spans.ts, through the SDK pipeline of otel.ts, sent as otlp-transport.ts configures),
 * and only then passes the turn's observations — with exemplars of kept turns — to the
 * downstream sink (metrics), so an exemplar never points at a dropped trace. A turn closes when
 * the next wait on its fd is observed, or at the end of input (`finish()`): the downstream sink
 * sees observations at most one turn late. Counters: trace-metrics.ts; summary text: report-traces.ts.
 */
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type {
  ActiveStallObservation,
  ConnectionObservation,
  ObservationSink,
  QuietObservation,
  SpanPollObservation,
  PollCycleObservation,
  SourcePos,
  StallObservation,
  TraceExemplar,
  UnfinishedObservation,
  WaitObservation,
  WakeToPollObservation,
} from '../reactor/observations.js';
import { compareTime, type LogTime } from '../time.js';
import { createTracePipeline, type CountingExporter } from './otel.js';
import { describeExportError, otlpTransport, type OtlpTransport } from './otlp-transport.js';
import { FileIds, firstLineIdentity } from './trace-ids.js';
import { TraceCounters } from './trace-metrics.js';
import { KeepPolicy, LogTimeRateLimit, type DropReason } from './trace-policy.js';
import { TurnSpans } from './turn-spans.js';
import { ConnectionSpans } from './connection-spans.js';
import { TurnGrouper, type Turn } from './turns.js';

// The public API cli.ts, daemon.ts and the bench import from here.
export { tracesConfigured, tracesUrl, readHeadersFile } from './otlp-transport.js';
export { DROP_REASONS, type DropReason, type KeepReason } from './trace-policy.js';
export { registerTraceCounters, TraceCounters } from './trace-metrics.js';
export {
  formatTraceSummary,
  jaegerSearchHint,
  jaegerTraceUrl,
  traceSummary,
  type TraceSummary,
} from './report-traces.js';

export interface TraceOptions {
  /** OTLP/HTTP endpoint (`--otlp-endpoint`): a base URL (`/v1/traces` is appended) or the full traces URL. Overrides OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  endpoint?: string;
  /** PEM file of the CA(s) for an https endpoint (config `traces.ca_file`); OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE wins over it. */
  caFile?: string;
  /** Auth headers, one `Name: value` per line (config `traces.headers_file`); OTEL_EXPORTER_OTLP_(TRACES_)HEADERS wins per header. */
  headersFile?: string;
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
/** Kinds of export error logged when first seen (beyond, only the once-a-minute summary). */
const MAX_ERROR_KINDS_LOGGED = 32;

export class TurnTraceSink implements ObservationSink {
  readonly counters = new TraceCounters();
  readonly tracedStalls: TracedStall[] = [];
  /** Log time span of everything seen (for the Jaeger search hint). */
  firstTime: LogTime | null = null;
  lastTime: LogTime | null = null;
  /** Where spans go: URL, CA and header sources (for messages). */
  readonly transport: OtlpTransport;

  private readonly maxQueuedSpans: number;
  private readonly provider: BasicTracerProvider;
  private readonly exporter: CountingExporter;
  private readonly spans: TurnSpans;
  private readonly connectionSpans: ConnectionSpans;
  private readonly grouper: TurnGrouper;
  private readonly policy: KeepPolicy;
  private readonly rateLimit: LogTimeRateLimit;
  private readonly fileIdentity: (path: string) => string;
  private readonly log: (message: string) => void;
  private readonly fileIds = new Map<string, FileIds>();
  private readonly errorKindsLogged = new Set<string>();
  private lastDropLog = 0;
  private lastExportError = '';
  private droppedAtLastLog = 0;
  private finished = false;
  private stopped = false;

  /** Throws ConfigError when the CA or headers file (or its OTEL_* variable) is unusable. */
  constructor(
    readonly relay: string,
    options: TraceOptions = {},
    private readonly downstream: ObservationSink | null = null,
  ) {
    const maxSpansPerTrace = Math.max(3, options.maxSpansPerTrace ?? TRACE_DEFAULTS.maxSpansPerTrace);
    this.maxQueuedSpans = options.maxQueuedSpans ?? TRACE_DEFAULTS.maxQueuedSpans;
    this.policy = new KeepPolicy({
      keepFraction: options.keepFraction ?? TRACE_DEFAULTS.keepFraction,
      keepWaitNs: options.keepWaitNs ?? TRACE_DEFAULTS.keepWaitNs,
      keepWakeToPollNs: options.keepWakeToPollNs ?? TRACE_DEFAULTS.keepWakeToPollNs,
    });
    this.rateLimit = new LogTimeRateLimit(options.maxSpansPerSec ?? TRACE_DEFAULTS.maxSpansPerSec);
    this.fileIdentity = options.fileIdentity ?? firstLineIdentity;
    this.log = options.log ?? ((m) => process.stderr.write(`pollscope: traces (${relay}): ${m}\n`));
    this.transport = otlpTransport(options);
    for (const w of this.transport.warnings) this.log(w);
    const pipeline = createTracePipeline({
      relay,
      transport: this.transport,
      counters: this.counters,
      maxQueuedSpans: this.maxQueuedSpans,
      maxExportBatchSize: options.maxExportBatchSize ?? TRACE_DEFAULTS.maxExportBatchSize,
      scheduledDelayMs: options.scheduledDelayMs ?? TRACE_DEFAULTS.scheduledDelayMs,
      onExportError: (e, n) => this.exportFailed(e, n),
    });
    this.provider = pipeline.provider;
    this.exporter = pipeline.exporter;
    this.spans = new TurnSpans(pipeline.tracer, pipeline.ids, (st, ex) => this.traced(st, ex));
    this.connectionSpans = new ConnectionSpans(pipeline.tracer, pipeline.ids, (file) => this.idsFor(file));
    this.grouper = new TurnGrouper(
      maxSpansPerTrace,
      (file) => this.idsFor(file),
      (turn, end) => this.close(turn, end),
    );
  }

  // ---- ObservationSink -------------------------------------------------------------------

  wait(w: WaitObservation): void {
    this.seeTime(w.end);
    this.seeTime(this.grouper.wait(w));
  }

  pollCycle(p: PollCycleObservation): void {
    this.seeTime(p.end);
    const placed = this.grouper.pollCycle(p);
    if (placed === 'held') return;
    if (placed === 'over_limit') this.counters.spansDropped.trace_limit++;
    this.downstream?.pollCycle?.(p);
  }

  wakeToPoll(d: WakeToPollObservation): void {
    this.seeTime(d.pollStart);
    if (!this.grouper.wakeToPoll(d)) this.downstream?.wakeToPoll?.(d);
  }

  stall(s: StallObservation): void {
    this.seeTime(s.end);
    const placed = this.grouper.stall(s);
    if (placed === 'no_turn') this.loneStall(s);
    else if (placed === 'over_limit') {
      this.counters.spansDropped.trace_limit++;
      this.downstream?.stall?.(s);
    }
  }

  unfinished(u: UnfinishedObservation): void {
    this.seeTime(u.since);
    if (!this.grouper.unfinished(u)) this.downstream?.unfinished?.(u);
  }

  /**
   * Span-based relays: a slow or blocked Connection::poll is a span of its connection's trace,
   * exported now (ids are known now), under the rate cap (a blocked one passes it); then on to
   * the metrics with its exemplar. Other polls are counted on the connection's root.
   */
  spanPoll(p: SpanPollObservation): void {
    this.seeTime(p.end);
    if (p.span === 'connection' && (p.slow || p.blocked) && p.conn !== null) {
      if (!this.rateLimit.take(1, p.end, p.blocked)) this.counters.spansDropped.rate_limit++;
      else if (this.exporter.inFlight + 1 > this.maxQueuedSpans) {
        this.counters.spansDropped.queue_full++;
        this.logDrops(false);
      } else {
        const ex = this.connectionSpans.exportPoll(p);
        if (ex !== null) {
          this.exporter.inFlight++;
          p.exemplar = ex;
        }
      }
    }
    this.downstream?.spanPoll?.(p);
  }

  /** A connection's root, when it closed: exported when polls of it were, or sampled like a turn. */
  connection(c: ConnectionObservation): void {
    this.seeTime(c.closed ?? c.lastSeen);
    const children = this.connectionSpans.exportedPolls(c.conn.id);
    const keep = children > 0 || c.blockedPolls > 0 || this.policy.sampled(this.connectionSpans.traceIdOf(c));
    if (keep && this.exporter.inFlight + 1 <= this.maxQueuedSpans) {
      this.exporter.inFlight++;
      this.counters.turnsKept++;
      this.connectionSpans.exportRoot(c);
    } else {
      this.counters.spansDropped[keep ? 'queue_full' : 'sampled_out']++;
      this.connectionSpans.forget(c.conn.id);
    }
    this.downstream?.connection?.(c);
  }

  quiet(q: QuietObservation): void {
    this.downstream?.quiet?.(q);
  }

  /** Live stalls are not held back: the daemon's gauge must follow them as they happen. */
  activeStall(a: ActiveStallObservation | null): void {
    this.downstream?.activeStall?.(a);
  }

  /** End of input: close every open turn (at the last log time it reached) and pass everything on. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.grouper.closeAll();
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
    const low = this.maxQueuedSpans / 2;
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

  // ---- decisions ---------------------------------------------------------------------------

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

  /** A turn is complete: keep it (spans made) or count it dropped, then pass its observations on. */
  private close(turn: Turn, end: LogTime): void {
    const spans = turn.spanCount;
    const reason = this.policy.keepReason(turn);
    let drop: DropReason | null = null;
    if (reason === null) drop = 'sampled_out';
    else if (!this.rateLimit.take(spans, end, reason === 'stall')) drop = 'rate_limit';
    else if (this.exporter.inFlight + spans > this.maxQueuedSpans) drop = 'queue_full';
    if (drop !== null) {
      this.counters.spansDropped[drop] += spans;
      this.counters.turnsDropped++;
      if (drop !== 'sampled_out') this.logDrops(false);
    } else {
      this.counters.turnsKept++;
      this.exporter.inFlight += spans;
      this.spans.exportTurn(turn, end, reason!);
    }
    this.forward(turn);
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

  /** A stall with no turn to go in is a trace of its own, kept like every stall (a slow poll is not). */
  private loneStall(st: StallObservation): void {
    const spans = 1;
    if (st.kind === 'slow_poll' || this.exporter.inFlight + spans > this.maxQueuedSpans) {
      if (st.kind !== 'slow_poll') {
        this.counters.spansDropped.queue_full += spans;
        this.logDrops(false);
      }
      this.downstream?.stall?.(st);
      return;
    }
    this.exporter.inFlight += spans;
    this.counters.turnsKept++;
    this.spans.exportLoneStall(st, this.idsFor(st.pos.file));
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

  // ---- telling the operator ------------------------------------------------------------------

  /** Each kind of export error is logged when first seen, with the endpoint and where to look; then summed up. */
  private exportFailed(error: Error | undefined, spans: number): void {
    const { key, text } = describeExportError(error, this.transport);
    this.lastExportError = text;
    if (!this.errorKindsLogged.has(key) && this.errorKindsLogged.size < MAX_ERROR_KINDS_LOGGED) {
      this.errorKindsLogged.add(key);
      this.log(
        `OTLP export failed: ${text}; ${spans} spans dropped (export_failed), further errors of this kind are only counted`,
      );
    }
    this.logDrops(false);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
