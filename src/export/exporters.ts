/**
 * The one place that builds a relay's exporters, for `replay` and `run` alike: the report
 * (replay), the Prometheus metrics and the OpenTelemetry trace exporter, and the order the
 * pipeline's observations go through them.
 */
import type { TracesConfig } from '../config.js';
import type { RelayPipeline } from '../pipeline.js';
import type { ObservationSink } from '../reactor/observations.js';
import type { PollscopeMetrics, RelayMetrics } from './metrics.js';
import { ReportCollector } from './report.js';
import type { TurnTraceSink, TraceOptions } from './traces.js';

/**
 * The trace exporter is loaded only when traces are on: the OpenTelemetry SDK and its OTLP
 * exporter take ~0.4 s to import, more than a small replay takes to run.
 */
let TraceSink: typeof TurnTraceSink | null = null;

/** Loads the trace exporter; `exportersFor` with traces needs it loaded. */
export async function loadTraceExporter(): Promise<void> {
  TraceSink ??= (await import('./traces.js')).TurnTraceSink;
}

export interface ExporterOptions {
  /** Collect the replay report. */
  report?: boolean;
  /** The registry the relay's metrics go to; null/absent = no metrics. */
  metrics?: PollscopeMetrics | null;
  /** Trace exporter settings; null/absent = traces off. */
  traces?: TraceOptions | null;
  /** The relay's pipeline when it already exists (run): metrics read its counters at scrape time. */
  pipeline?: RelayPipeline;
}

export interface RelayExporters {
  report: ReportCollector | null;
  metrics: RelayMetrics | null;
  traces: TurnTraceSink | null;
  /** What the relay's pipeline feeds, in order. */
  sinks: ObservationSink[];
}

export function exportersFor(relay: string, options: ExporterOptions): RelayExporters {
  const report = options.report ? new ReportCollector() : null;
  const metrics = options.metrics?.forRelay(relay, options.pipeline) ?? null;
  // With traces on, metrics sit behind the trace keep decision: the trace sink forwards each
  // turn's observations to them once the turn is decided, with exemplars of the kept traces.
  if (options.traces && TraceSink === null)
    throw new Error('exportersFor: traces on, but loadTraceExporter() was not awaited');
  const traces = options.traces && TraceSink ? new TraceSink(relay, options.traces, metrics) : null;
  const exported = traces ?? metrics;
  return { report, metrics, traces, sinks: [...(report ? [report] : []), ...(exported ? [exported] : [])] };
}

/** The trace exporter's options from the configuration; null when traces are off. */
export function traceOptions(t: TracesConfig): TraceOptions | null {
  if (t.endpoint === null) return null;
  return {
    // The OTLP-over-TLS files (traces.ca_file, traces.headers_file), read by the transport.
    caFile: t.caFile ?? undefined,
    headersFile: t.headersFile ?? undefined,
    // From OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT the OTLP exporter reads the endpoint itself, with
    // the variables' own rules (the TRACES one is used as is); from a flag or the file we pass it.
    endpoint: t.endpointFrom === 'env' ? undefined : t.endpoint,
    keepFraction: t.sample,
    maxSpansPerSec: t.maxSpans,
    keepWaitNs: t.keepWaitNs,
    keepWakeToPollNs: t.keepDelayNs,
  };
}
