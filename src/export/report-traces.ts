/**
 * The replay report's traces section (`replay --otlp-endpoint`): kept and dropped turns, each
 * stall's trace id (and Jaeger link), and the log-time range to search — as text after the
 * report (report.ts) and under `traces` in `--json`.
 */
import { formatTime, type LogTime } from '../time.js';
import type { TraceCounters } from './trace-metrics.js';
import type { DropReason } from './trace-policy.js';
import type { TracedStall } from './traces.js';

/** What the trace sink knows at the end of a replay (TurnTraceSink, src/export/traces.ts). */
export interface TraceSinkState {
  readonly counters: TraceCounters;
  readonly tracedStalls: readonly TracedStall[];
  readonly firstTime: LogTime | null;
  readonly lastTime: LogTime | null;
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

/** Jaeger UI link to one trace. */
export function jaegerTraceUrl(ui: string, traceId: string): string {
  return `${ui.replace(/\/+$/, '')}/trace/${traceId}`;
}

/** The log-time window to set in Jaeger's search (it searches a time range, by default the last hour of wall time). */
export function jaegerSearchHint(sink: TraceSinkState): string | null {
  if (sink.firstTime === null || sink.lastTime === null) return null;
  return `${formatTime(sink.firstTime)} … ${formatTime(sink.lastTime)}`;
}

export function traceSummary(sink: TraceSinkState, endpoint: string, jaegerUi?: string): TraceSummary {
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
