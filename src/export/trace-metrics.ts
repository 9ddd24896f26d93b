/**
 * The trace exporter's counters and their Prometheus metrics (docs/metrics.md, docs/spans.md):
 * pollscope_spans_exported_total, pollscope_spans_dropped_total{reason},
 * pollscope_export_errors_total on the metrics registry (src/export/metrics.ts owns it), read
 * from the trace sinks at scrape time, never per span.
 */
import { Counter, type Registry, type RegistryContentType } from 'prom-client';
import { DROP_REASONS, type DropReason } from './trace-policy.js';

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

export function registerTraceCounters(
  registry: Registry<RegistryContentType>,
  sinks: () => Iterable<{ readonly counters: TraceCounters }>,
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
