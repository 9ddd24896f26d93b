/**
 * The metrics read at scrape time (prom-client `collect()` callbacks): what the pipeline, the
 * model, the sources and the daemon already count. Nothing here runs per line.
 */
import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import { LINE_OUTCOMES, type FaultCounters, type RelayMetrics, type SourceCounters } from './metrics.js';

/** Per-relay values from the pipeline and the model. */
export function registerScrapeMetrics(
  registers: Registry<RegistryContentType>[],
  relays: ReadonlyMap<string, RelayMetrics>,
): void {
  // Connections: the model counts them; read at scrape time.
  new Counter({
    name: 'relay_libp2p_connections_total',
    registers,
    labelNames: ['relay', 'event'],
    help: 'rust-libp2p connections established ("Connection established") and closed, as the log showed them.',
    collect() {
      this.reset();
      for (const r of relays.values()) {
        const c = r.pipeline?.model.connections.counters;
        if (c === undefined) continue;
        this.inc({ ...r.labels, event: 'established' }, c.established);
        this.inc({ ...r.labels, event: 'closed' }, c.closed);
      }
    },
  });
  new Gauge({
    name: 'relay_libp2p_connections_active',
    registers,
    labelNames: ['relay'],
    help: 'rust-libp2p connections open now (seen in the log and not closed).',
    collect() {
      this.reset();
      for (const r of relays.values()) {
        const model = r.pipeline?.model;
        if (model !== undefined) this.set(r.labels, model.connections.active);
      }
    },
  });

  new Gauge({
    name: 'relay_swarm_last_poll_timestamp_seconds',
    registers,
    labelNames: ['relay'],
    help: "Log time of the swarm's last poll end, unix seconds.",
    collect() {
      this.reset();
      for (const r of relays.values()) {
        const t = r.pipeline?.model.lastPollEnd;
        if (t) this.set(r.labels, t.sec + t.nsec / 1e9);
      }
    },
  });
  new Gauge({
    name: 'relay_log_last_line_timestamp_seconds',
    registers,
    labelNames: ['relay'],
    help: 'Log time of the last timestamped line read, unix seconds.',
    collect() {
      this.reset();
      for (const r of relays.values()) {
        const sec = r.pipeline?.lastRecordSec;
        if (sec !== undefined && Number.isFinite(sec)) this.set(r.labels, sec);
      }
    },
  });
  // Read from the pipeline's own line accounting at scrape time: nothing is counted per line here.
  new Counter({
    name: 'pollscope_lines_total',
    registers,
    labelNames: ['relay', 'outcome'],
    help: 'Physical lines read, by outcome; a continuation line counts with its record. Sums to the lines read.',
    collect() {
      this.reset();
      for (const r of relays.values()) {
        const lines = r.pipeline?.ingest.lines;
        if (lines !== undefined)
          for (const outcome of LINE_OUTCOMES) this.inc(r.outcomeLabels[outcome], lines[outcome]);
      }
    },
  });
}

/** The sources' counters (over all relays) and build info. */
export function registerSourceMetrics(
  registers: Registry<RegistryContentType>[],
  sourceNow: () => SourceCounters | null,
  version: string | undefined,
): void {
  // The tailer counts these over all the files it follows, not per relay.
  const sourceCounter = (name: string, help: string, read: (s: SourceCounters) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        const source = sourceNow();
        if (source !== null) this.inc(read(source));
      },
    });
  sourceCounter('pollscope_bytes_read_total', 'Bytes of log read, all sources.', (s) => s.bytesRead);
  sourceCounter(
    'pollscope_file_rotations_total',
    'Log file rotations followed (a new file at the path), all sources.',
    (s) => s.rotations,
  );
  sourceCounter(
    'pollscope_file_truncations_total',
    'Log file truncations followed (the file shrank; read again from its start), all sources.',
    (s) => s.truncations,
  );
  const buildInfo = new Gauge({
    name: 'pollscope_build_info',
    registers,
    labelNames: ['version', 'nodejs'],
    help: "pollscope's version and the Node.js running it (value 1).",
  });
  buildInfo.set({ version: version ?? packageVersion(), nodejs: process.version }, 1);
}

/**
 * Live (`run`) only: process metrics, fault counters, the active stall and the log lag.
 */
export function registerLiveMetrics(
  registry: Registry<RegistryContentType>,
  relays: ReadonlyMap<string, RelayMetrics>,
  faultsNow: () => FaultCounters | null,
): void {
  const registers = [registry];
  new Counter({
    name: 'pollscope_checkpoint_errors_total',
    registers,
    help: 'Checkpoint saves that failed (full disk, read-only or missing directory, …; each attempt) and checkpoint locks lost. /readyz fails until a save succeeds.',
    collect() {
      this.reset();
      this.inc(faultsNow()?.checkpointErrors ?? 0);
    },
  });
  new Counter({
    name: 'pollscope_pipeline_errors_total',
    registers,
    labelNames: ['relay'],
    help: 'Unexpected internal errors (a bug) by relay: the record or observation is skipped, the relay goes on. relay="": caught by the process-level last resort.',
    collect() {
      this.reset();
      const faults = faultsNow();
      if (faults !== null) for (const [relay, n] of faults.pipelineErrors) this.inc({ relay }, n);
    },
  });
  new Gauge({
    name: 'relay_poll_stall_active_seconds',
    registers,
    labelNames: ['relay'],
    help: 'Length of the stall going on now (log time), 0 when none.',
    collect() {
      this.reset();
      for (const r of relays.values()) this.set(r.labels, r.activeStallSeconds);
    },
  });
  new Gauge({
    name: 'pollscope_log_lag_seconds',
    registers,
    labelNames: ['relay'],
    help: 'Wall time minus the log time of the last line read.',
    collect() {
      this.reset();
      const now = Date.now() / 1000;
      for (const r of relays.values()) {
        const sec = r.pipeline?.lastRecordSec;
        if (sec !== undefined && Number.isFinite(sec)) this.set(r.labels, now - sec);
      }
    },
  });
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters (promtool: "non-counter metrics should not have _total"):
  // their by-type siblings nodejs_active_handles/_resources and nodejs_active_requests stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}
