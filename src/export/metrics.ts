/**
 * Prometheus metrics (prom-client) for what the reactor model observes: one registry per process,
 * one RelayMetrics (an ObservationSink) per relay. Names and labels are fixed by docs/metrics.md:
 * dashboards and alert rules are written against them.
 *
 * What is counted where:
 * - histograms and observation counters (waits, wakeups, ready events, poll cycles, wake → poll
 *   delays, stalls) move per observation, in the sink;
 * - everything the pipeline already counts (lines by outcome, last line and last poll time) and
 *   what the daemon's sources count (bytes, rotations, truncations, the active stall) is read at
 *   scrape time by `collect()` callbacks: nothing here runs per line.
 *
 * Samples carry no timestamps: a value is what the log said so far. The `relay` label comes from
 * configuration, never from log content, so the series count does not depend on the log.
 */
import { Counter, exponentialBuckets, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { LineCounts } from '../ingest.js';
import type { RelayPipeline } from '../pipeline.js';
import { READY_FLAG_LABELS } from '../reactor/flags.js';
import {
  POLL_SPAN_KINDS,
  POLL_SPAN_NAMES,
  STALL_KINDS,
  WAKE_REASONS,
  type ActiveStallObservation,
  type PollSpanKind,
  type SpanPollObservation,
  type ObservationSink,
  type PollCycleObservation,
  type StallKind,
  type StallObservation,
  type TraceExemplar,
  type WaitObservation,
  type WakeReason,
  type WakeToPollObservation,
} from '../reactor/observations.js';
import { registerLiveMetrics, registerScrapeMetrics, registerSourceMetrics } from './metrics-scrape.js';

/**
 * 1 µs … 67 s in factors of 2 (27 bounds): epoll waits span 8 orders of magnitude, from a busy
 * reactor's µs to an idle relay's minute-long timeout. Powers of two times 1e-6 are exact doubles.
 */
export const DURATION_BUCKETS: readonly number[] = exponentialBuckets(1e-6, 2, 27);
/**
 * rust-libp2p poll spans (Connection::poll …): most take µs, a slow one ≥ 50 µs (tokio-metrics'
 * slow poll), a blocked one seconds. 5 µs … 10 s with 50 µs, 1 ms and 1 s as bounds.
 */
export const SPAN_POLL_BUCKETS: readonly number[] = [
  5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Events one epoll_wait returned: polling's default buffer holds 1024. */
export const EVENTS_PER_WAKEUP_BUCKETS: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export const POLL_RESULTS = ['ready', 'pending', 'unknown'] as const;
export type PollResult = (typeof POLL_RESULTS)[number];
export const LINE_OUTCOMES: ReadonlyArray<keyof LineCounts> = ['decoded', 'ignored', 'malformed', 'oversize'];
export const READY_FLAGS: readonly string[] = READY_FLAG_LABELS.map(([, label]) => label);

export type MetricsFormat = 'prometheus' | 'openmetrics';
export const CONTENT_TYPES: Record<MetricsFormat, RegistryContentType> = {
  prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
};

/** What the sources (the daemon's tailer, over all relays) count; read at scrape time. */
export interface SourceCounters {
  readonly bytesRead: number;
  readonly rotations: number;
  readonly truncations: number;
}

/** The live daemon's fault counters (Daemon.faults), read at scrape time. */
export interface FaultCounters {
  /** Failed checkpoint saves (each attempt), and lost checkpoint locks. */
  readonly checkpointErrors: number;
  /** Unexpected internal errors by relay; '' = outside any relay (the process-level last resort). */
  readonly pipelineErrors: ReadonlyMap<string, number>;
}

/** Where a relay's scrape-time values come from; any may be attached after the sink is made. */
export interface PollscopeMetricsOptions {
  /**
   * Live (`run`): also process metrics, `pollscope_log_lag_seconds` and
   * `relay_poll_stall_active_seconds`. Off for `replay --metrics-out`, whose output describes
   * the log, not the process that read it.
   */
  live?: boolean;
  /** The version label of pollscope_build_info (default: package.json's). */
  version?: string;
}

type Labels = Record<string, string>;

export class PollscopeMetrics {
  /**
   * Switched to OpenMetrics before any metric is made: prom-client accepts exemplar-carrying
   * metrics only in such a registry. `render()` sets the content type per scrape. The trace
   * exporter registers its counters here too.
   */
  readonly registry = new Registry<RegistryContentType>();
  readonly live: boolean;
  private readonly relays = new Map<string, RelayMetrics>();
  private source: SourceCounters | null = null;
  private faults: FaultCounters | null = null;
  /** Counter names as registered, with `_total` (see render()); also counters others register here. */
  private readonly counterNames = new WeakMap<object, string>();
  /** Renders run one at a time: each sets the registry's content type for its whole run. */
  private renderChain: Promise<unknown> = Promise.resolve();

  readonly waitDuration: Histogram<'relay' | 'reason'>;
  readonly wakeups: Counter<'relay' | 'reason'>;
  readonly readyEvents: Counter<'relay' | 'flag'>;
  readonly eventsPerWakeup: Histogram<'relay'>;
  readonly pollDuration: Histogram<'relay' | 'result'>;
  readonly polls: Counter<'relay' | 'result'>;
  readonly wakeToPollDelay: Histogram<'relay'>;
  readonly stalls: Counter<'relay' | 'kind'>;
  readonly spanPollDuration: Histogram<'relay' | 'span'>;
  readonly slowSpanPolls: Counter<'relay' | 'span'>;

  constructor(opts: PollscopeMetricsOptions = {}) {
    this.live = opts.live ?? false;
    this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registers = [this.registry];
    const relays = this.relays;
    // Read inside prom-client's collect(), where `this` is the metric being collected.
    const sourceNow = (): SourceCounters | null => this.source;
    const faultsNow = () => this.faults;

    this.waitDuration = new Histogram({
      name: 'relay_epoll_wait_duration_seconds',
      registers,
      enableExemplars: true,
      help: 'Time blocked in epoll_wait (start to wake, log time), by wake reason; a wait with several reasons counts under each.',
      labelNames: ['relay', 'reason'],
      buckets: [...DURATION_BUCKETS],
    });
    this.wakeups = this.counter(
      'relay_epoll_wakeups_total',
      'epoll_wait returns by wake reason; a wait with several reasons counts under each.',
      ['relay', 'reason'],
    );
    this.readyEvents = this.counter(
      'relay_epoll_ready_events_total',
      'Ready events epoll_wait returned, by flag in the returned mask (an event counts under each flag it has).',
      ['relay', 'flag'],
    );
    this.eventsPerWakeup = new Histogram({
      name: 'relay_epoll_events_per_wakeup',
      registers,
      enableExemplars: true,
      help: 'Events one epoll_wait returned (its res, else the events it listed).',
      labelNames: ['relay'],
      buckets: [...EVENTS_PER_WAKEUP_BUCKETS],
    });
    this.pollDuration = new Histogram({
      name: 'relay_swarm_poll_duration_seconds',
      registers,
      enableExemplars: true,
      help: 'Duration of one swarm poll cycle (log time), by its result.',
      labelNames: ['relay', 'result'],
      buckets: [...DURATION_BUCKETS],
    });
    this.polls = this.counter('relay_swarm_polls_total', 'Swarm poll cycles by result.', ['relay', 'result']);
    this.wakeToPollDelay = new Histogram({
      name: 'relay_wake_to_poll_delay_seconds',
      registers,
      enableExemplars: true,
      help: 'Log time from the epoll wake that reported I/O readiness to the next swarm poll start.',
      labelNames: ['relay'],
      buckets: [...DURATION_BUCKETS],
    });
    this.stalls = this.counter('relay_poll_stalls_total', 'Stalls by kind (counted when the stall ends).', [
      'relay',
      'kind',
    ]);

    this.spanPollDuration = new Histogram({
      name: 'relay_libp2p_poll_duration_seconds',
      registers,
      enableExemplars: true,
      help: "Busy time of one rust-libp2p poll span call (its close line's time.busy), by span: Pool::poll, Connection::poll, ConnectionHandler::poll, NetworkBehaviour::poll.",
      labelNames: ['relay', 'span'],
      buckets: [...SPAN_POLL_BUCKETS],
    });
    this.slowSpanPolls = this.counter(
      'relay_libp2p_slow_polls_total',
      'rust-libp2p poll span calls at least --slow-connection-poll busy, by span.',
      ['relay', 'span'],
    );
    registerScrapeMetrics(registers, relays);
    registerSourceMetrics(registers, sourceNow, opts.version);
    if (this.live) registerLiveMetrics(this.registry, relays, faultsNow);
  }

  /**
   * The sink for one relay (names come from configuration). Attach the pipeline with `attach()`
   * once it exists, when the sink is needed to build it.
   * The daemon's watchdog reports the active stall through the sink's `activeStall()`.
   */
  /**
   * The sink of `relay`'s series. pipeline: the relay's pipeline, read at each scrape (lines by
   * outcome, log time of the last line, the swarm's last poll end).
   */
  forRelay(relay: string, pipeline?: RelayPipeline): RelayMetrics {
    // One sink per relay name: asked again (a daemon re-creating a relay), the same series go on.
    const existing = this.relays.get(relay);
    if (existing !== undefined) return existing.attach(pipeline);
    const r = new RelayMetrics(this, relay, pipeline ?? null);
    this.relays.set(relay, r);
    return r;
  }

  /** The sources' counters (bytes read, rotations, truncations), read at each scrape. */
  attachSource(source: SourceCounters): void {
    this.source = source;
  }

  /** The daemon's fault counters (checkpoint and internal errors), read at each scrape. */
  attachFaults(faults: FaultCounters): void {
    this.faults = faults;
  }

  /** Metrics text in the format asked for, from prom-client's own serializer. */
  render(format: MetricsFormat): Promise<string> {
    const next = this.renderChain.then(() => {
      this.registry.setContentType(CONTENT_TYPES[format]);
      // prom-client 15 renames a counter in place (drops `_total`) when it renders OpenMetrics
      // and never puts the name back (prometheus/client_js#829): restore it before each render,
      // so the Prometheus text keeps the fixed names and OpenMetrics derives its own from them.
      // A counter is first seen here before any render touched it (renders only run in this chain).
      for (const metric of this.registry.getMetricsAsArray() as unknown as Array<{ type: string; name: string }>) {
        if (metric.type !== 'counter') continue;
        const name = this.counterNames.get(metric);
        if (name === undefined) this.counterNames.set(metric, metric.name);
        else metric.name = name;
      }
      return this.registry.metrics();
    });
    this.renderChain = next.catch(() => undefined);
    return next;
  }

  /**
   * OpenMetrics text with every sample stamped `timestampSec` (log time, unix seconds): the final
   * values of a replay, in the form `promtool tsdb create-blocks-from openmetrics` needs (it
   * rejects samples without a timestamp). The live endpoint never stamps samples.
   */
  async renderStamped(timestampSec: number): Promise<string> {
    const text = await this.render('openmetrics');
    if (!Number.isFinite(timestampSec)) return text;
    const ts = String(timestampSec);
    return text
      .split('\n')
      .map((line) => (line === '' || line.startsWith('#') ? line : stampSample(line, ts)))
      .join('\n');
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }
}

/** One relay's metrics: an ObservationSink moving the histograms and observation counters. */
export class RelayMetrics implements ObservationSink {
  readonly labels: Labels;
  readonly outcomeLabels: Record<keyof LineCounts, Labels>;
  // Label objects made once: prom-client hashes them per observation, we do not allocate them.
  private readonly byReason: Record<WakeReason, Labels>;
  private readonly byFlag: Labels[];
  private readonly byResult: Record<PollResult, Labels>;
  private readonly byKind: Record<StallKind, Labels>;
  private readonly bySpan: Record<PollSpanKind, Labels>;
  /** The stall going on now (the watchdog's last tick), 0 when none: relay_poll_stall_active_seconds. */
  activeStallSeconds = 0;

  constructor(
    private readonly m: PollscopeMetrics,
    readonly relay: string,
    /** Read at each scrape (null: no pipeline, e.g. a test feeding observations by hand). */
    public pipeline: RelayPipeline | null,
  ) {
    const labels = (extra: Labels = {}): Labels => ({ relay, ...extra });
    this.labels = labels();
    this.byReason = Object.fromEntries(WAKE_REASONS.map((reason) => [reason, labels({ reason })])) as Record<
      WakeReason,
      Labels
    >;
    this.byFlag = READY_FLAGS.map((flag) => labels({ flag }));
    this.byResult = Object.fromEntries(POLL_RESULTS.map((result) => [result, labels({ result })])) as Record<
      PollResult,
      Labels
    >;
    this.byKind = Object.fromEntries(STALL_KINDS.map((kind) => [kind, labels({ kind })])) as Record<StallKind, Labels>;
    this.bySpan = Object.fromEntries(POLL_SPAN_KINDS.map((k) => [k, labels({ span: POLL_SPAN_NAMES[k] })])) as Record<
      PollSpanKind,
      Labels
    >;
    this.outcomeLabels = Object.fromEntries(LINE_OUTCOMES.map((outcome) => [outcome, labels({ outcome })])) as Record<
      keyof LineCounts,
      Labels
    >;
    // Every series exists from the start at 0: rates work from the first scrape, and the
    // series count is fixed by configuration whatever the log holds.
    for (const reason of WAKE_REASONS) {
      m.wakeups.inc(this.byReason[reason], 0);
      m.waitDuration.zero(this.byReason[reason]);
    }
    for (const l of this.byFlag) m.readyEvents.inc(l, 0);
    m.eventsPerWakeup.zero(this.labels);
    for (const result of POLL_RESULTS) {
      m.polls.inc(this.byResult[result], 0);
      m.pollDuration.zero(this.byResult[result]);
    }
    m.wakeToPollDelay.zero(this.labels);
    for (const kind of STALL_KINDS) m.stalls.inc(this.byKind[kind], 0);
    for (const k of POLL_SPAN_KINDS) {
      m.spanPollDuration.zero(this.bySpan[k]);
      m.slowSpanPolls.inc(this.bySpan[k], 0);
    }
  }

  /** The pipeline read at scrape time, once it exists (it is built with this sink in it). */
  attach(pipeline: RelayPipeline | undefined): this {
    if (pipeline !== undefined) this.pipeline = pipeline;
    return this;
  }

  wait(w: WaitObservation): void {
    const m = this.m;
    const seconds = w.durationNs !== null ? Math.max(0, w.durationNs) / 1e9 : null;
    for (const reason of w.reasons) {
      const labels = this.byReason[reason];
      m.wakeups.inc(labels);
      if (seconds !== null) observe(m.waitDuration, labels, seconds, w.exemplar);
    }
    for (const e of w.ready) {
      for (let i = 0; i < READY_FLAG_LABELS.length; i++) {
        if (e.flags & READY_FLAG_LABELS[i][0]) m.readyEvents.inc(this.byFlag[i]);
      }
    }
    const events = w.res !== null && w.res >= 0 ? w.res : w.ready.length > 0 ? w.ready.length : null;
    if (events !== null) observe(m.eventsPerWakeup, this.labels, events, w.exemplar);
  }

  pollCycle(p: PollCycleObservation): void {
    const labels = this.byResult[p.ready === true ? 'ready' : p.ready === false ? 'pending' : 'unknown'];
    this.m.polls.inc(labels);
    observe(this.m.pollDuration, labels, Math.max(0, p.durationNs) / 1e9, p.exemplar);
  }

  wakeToPoll(d: WakeToPollObservation): void {
    // Lines may be stamped µs out of order across threads: a "negative" delay is no delay.
    observe(this.m.wakeToPollDelay, this.labels, Math.max(0, d.delayNs) / 1e9, d.exemplar);
  }

  stall(s: StallObservation): void {
    this.m.stalls.inc(this.byKind[s.kind]);
  }

  spanPoll(p: SpanPollObservation): void {
    const labels = this.bySpan[p.span];
    observe(this.m.spanPollDuration, labels, Math.max(0, p.busyNs) / 1e9, p.exemplar);
    if (p.slow) this.m.slowSpanPolls.inc(labels);
  }

  activeStall(a: ActiveStallObservation | null): void {
    this.activeStallSeconds = a === null ? 0 : Math.max(0, a.durationNs) / 1e9;
  }
}

/**
 * `name{labels} value[ # exemplar]` → `name{labels} value ts[ # exemplar]`. prom-client 15 has no
 * sample timestamps, so the stamp goes in after its serializer; label values are skipped quote-aware
 * (a relay name may hold spaces, `}` or `#`).
 */
export function stampSample(line: string, ts: string): string {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  if (line[i] === '{') {
    let quoted = false;
    for (i++; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '\\') i++;
        else if (c === '"') quoted = false;
      } else if (c === '"') quoted = true;
      else if (c === '}') {
        i++;
        break;
      }
    }
  }
  const valueEnd = line.indexOf(' ', i + 1); // line[i] is the space before the value
  return valueEnd < 0 ? `${line} ${ts}` : `${line.slice(0, valueEnd)} ${ts}${line.slice(valueEnd)}`;
}

function observe(h: Histogram<string>, labels: Labels, value: number, exemplar: TraceExemplar | undefined): void {
  if (exemplar === undefined) h.observe({ labels, value });
  else h.observe({ labels, value, exemplarLabels: { traceId: exemplar.traceId, spanId: exemplar.spanId } });
}
