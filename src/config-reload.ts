/**
 * SIGHUP: what a freshly read configuration changes in the running daemon. The file list and the
 * thresholds apply in place; any other setting that changed needs a restart, and is said so.
 */
import { KEYS, type RunConfig } from './config.js';
import { formatDuration } from './time.js';

const RELOADABLE = new Set(KEYS.filter((k) => k.reloadable).map((k) => k.key));

/** Each file key's effective value as text: what SIGHUP compares and what its messages show. */
export function settingsText(c: RunConfig): Record<string, string> {
  const dur = (ns: number | null) => (ns === null ? 'off' : formatDuration(ns));
  const t = c.traces;
  return {
    logs: c.logs.map((l) => (l.relay !== null ? `${l.pattern}=${l.relay}` : l.pattern)).join(', ') || 'none',
    stdin: c.stdin ?? 'off',
    from: c.from,
    checkpoint: c.checkpointPath,
    checkpoint_interval: dur(c.checkpointIntervalMs * 1e6),
    poll_interval: dur(c.pollIntervalMs * 1e6),
    flush_partial_after: dur(c.flushPartialAfterMs === null ? null : c.flushPartialAfterMs * 1e6),
    max_line_bytes: String(c.maxLineBytes),
    watch: String(c.watch),
    audit_records: c.auditPath ?? 'off',
    'thresholds.slow_poll': dur(c.thresholds.slowPollNs),
    'thresholds.blocked_poll': dur(c.thresholds.blockedPollNs),
    'thresholds.starved': dur(c.thresholds.starvedNs),
    'thresholds.silent': dur(c.thresholds.silentNs),
    'metrics.listen': c.metrics.listen ? `${c.metrics.listen.host}:${c.metrics.listen.port}` : 'off',
    'traces.endpoint': t.endpoint ?? 'off',
    'traces.sample': String(t.sample),
    'traces.max_spans': String(t.maxSpans),
    'traces.keep_wait': dur(t.keepWaitNs),
    'traces.keep_delay': dur(t.keepDelayNs),
    'traces.headers_file': t.headersFile ?? 'none',
    'traces.ca_file': t.caFile ?? 'none',
  };
}

export interface ReloadPlan {
  /** The running configuration with what SIGHUP can apply (file list, thresholds) taken from the new one. */
  config: RunConfig;
  /** Keys applied. */
  changed: string[];
  /** "checkpoint changed: needs a restart; keeping ./cp.json" for each key that cannot change while running. */
  needRestart: string[];
}

/** What a SIGHUP does with a freshly read configuration. */
export function planReload(running: RunConfig, next: RunConfig): ReloadPlan {
  const before = settingsText(running);
  const after = settingsText(next);
  const changed: string[] = [];
  const needRestart: string[] = [];
  for (const key of Object.keys(before)) {
    if (before[key] === after[key]) continue;
    if (RELOADABLE.has(key)) changed.push(key);
    else needRestart.push(`${key} changed: needs a restart; keeping ${before[key]}`);
  }
  return {
    config: { ...running, logs: next.logs, thresholds: { ...next.thresholds } },
    changed,
    needRestart,
  };
}
