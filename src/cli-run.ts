/**
 * `pollscope run`: follows live logs until SIGTERM/SIGINT (or stdin ends); SIGHUP reloads the
 * config file. Loaded by src/cli.ts only for this command (the daemon, its watchers and the
 * metrics server are not a replay's start-up cost).
 */
import type { parseArgs } from 'node:util';
import { parseFlags, RUN_FLAGS } from './cli-flags.js';
import { InputError } from './replay.js';
import {
  envSettings,
  fileSettings,
  flagSettings,
  mergeSettings,
  parseLogArg,
  validateConfig,
  type Given,
  type RunConfig,
} from './config.js';
import { planReload } from './config-reload.js';
import { HELP } from './cli-help.js';
import { Daemon, installLastResort } from './daemon.js';
import type { LogSpec } from './source/tailer.js';
import type { TurnTraceSink } from './export/traces.js';
import { registerTraceCounters } from './export/trace-metrics.js';
import { exportersFor, loadTraceExporter, traceOptions } from './export/exporters.js';
import { PollscopeMetrics } from './export/metrics.js';
import { sourcesReadOnce, startMetricsServer } from './export/metrics-server.js';
import { loadWebConfig } from './export/web-config.js';
import { timelineRoutes } from './export/timeline-html.js';

/** `pollscope run`: defaults < config file < environment < flags; runs until SIGTERM/SIGINT (or stdin ends). */
export async function runCommand(args: string[]): Promise<number> {
  const { values: v, tokens } = parseFlags('run', args, RUN_FLAGS, false);
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const flags = flagSettings(v, [...sourceSettings(tokens), ...(v['no-watch'] ? [watchOff] : [])]);
  // The file and the environment are read again on SIGHUP; the flags still override them.
  const build = (): RunConfig =>
    validateConfig(
      mergeSettings(v.config !== undefined ? fileSettings(v.config) : new Map<string, Given>(), envSettings(), flags),
      'run',
    );
  let cfg = build();
  const traceSinks: TurnTraceSink[] = [];
  const metrics = new PollscopeMetrics({ live: true });
  const traces = traceOptions(cfg.traces);
  if (traces !== null) await loadTraceExporter();
  if (traces !== null) registerTraceCounters(metrics.registry, () => traceSinks);
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    done = resolve;
  });
  const daemon = new Daemon(cfg, {
    // The live timeline is kept where it is served: on the metrics listener.
    timelineWindowNs: cfg.metrics.listen !== null ? cfg.timelineWindowNs : undefined,
    inputEnded: () => {
      void shutdown();
    },
    sinksFor: (relay, pipeline) => {
      const e = exportersFor(relay, { metrics: cfg.metrics.listen !== null ? metrics : null, traces, pipeline });
      if (e.traces) traceSinks.push(e.traces);
      return e.sinks;
    },
  });
  let stopping = false;
  async function shutdown(): Promise<void> {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => {
      note('did not stop within 5 s');
      done(1);
    }, 4800);
    await daemon.stop();
    // The relays' last turns were closed by stop(); send what is queued, within the stop deadline.
    await Promise.all(traceSinks.map((t) => t.shutdown(2_500)));
    clearTimeout(force);
    note(
      daemon.savedAtStop
        ? 'stopped, checkpoint saved'
        : 'stopped; the checkpoint could not be saved (see above): the next start reads again from the last saved position',
    );
    done(0);
  }
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.on('SIGHUP', () => {
    if (v.config === undefined)
      note('SIGHUP: nothing to reload (no --config file; the settings come from the command line)');
    else cfg = reload(daemon, cfg, build);
  });
  if (cfg.metrics.listen !== null) {
    metrics.attachSource(daemon.tailer.counters);
    metrics.attachFaults(daemon.faults);
    await serveMetrics(
      metrics,
      cfg.metrics,
      sourcesReadOnce(daemon.tailer, () => cfg.logs),
      () => daemon.health(),
      timelineRoutes(() => daemon.timelines()),
    );
  }
  installLastResort(daemon, (line) => process.stderr.write(line));
  daemon.start();
  const sources = [
    ...cfg.logs.map((l) => (l.relay ? `${l.pattern}=${l.relay}` : l.pattern)),
    ...(cfg.stdin !== null ? [`stdin=${cfg.stdin}`] : []),
  ];
  note(`following ${sources.join(', ')}; checkpoint ${cfg.checkpointPath}`);
  return finished;
}

const note = (line: string) => process.stderr.write(`pollscope: run: ${line}\n`);
const watchOff: [string, unknown, string] = ['watch', false, '--no-watch'];

/** --log, --stdin and the --relay after each (or, before any source, for all of them) as settings. */
function sourceSettings(tokens: ReturnType<typeof parseArgs>['tokens']): Array<[string, unknown, string]> {
  const logs: LogSpec[] = [];
  let stdin = false;
  let stdinRelay: string | null = null;
  let defaultRelay: string | null = null;
  let last: 'log' | 'stdin' | null = null;
  for (const t of tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (t.name === 'log') {
      logs.push(parseLogArg(t.value ?? '', null));
      last = 'log';
    } else if (t.name === 'stdin') {
      stdin = true;
      last = 'stdin';
    } else if (t.name === 'relay') {
      if (last === 'log' && logs[logs.length - 1].relay === null) logs[logs.length - 1].relay = t.value ?? null;
      else if (last === 'stdin' && stdinRelay === null) stdinRelay = t.value ?? null;
      else defaultRelay = t.value ?? null;
      last = null;
    }
  }
  const out: Array<[string, unknown, string]> = [];
  if (logs.length > 0)
    out.push(['logs', logs.map((l) => ({ path: l.pattern, relay: l.relay ?? defaultRelay })), '--log']);
  if (stdin) out.push(['stdin', stdinRelay ?? defaultRelay ?? 'stdin', '--stdin']);
  return out;
}

/**
 * SIGHUP with --config: the file list and thresholds apply, every other change is named as
 * needing a restart; a file that does not validate changes nothing. Returns the running config.
 */
function reload(daemon: Daemon, running: RunConfig, build: () => RunConfig): RunConfig {
  let next: RunConfig;
  try {
    next = build();
  } catch (err) {
    note(`reload failed, keeping the running configuration: ${(err as Error).message}`);
    return running;
  }
  const plan = planReload(running, next);
  for (const m of plan.needRestart) note(m);
  daemon.reload(plan.config);
  note(`configuration reloaded${plan.changed.length > 0 ? ` (${plan.changed.join(', ')} changed)` : ''}`);
  return plan.config;
}

/** The metrics endpoint: failing to listen is fatal where the user asked for the address, else a warning. */
async function serveMetrics(
  metrics: PollscopeMetrics,
  m: RunConfig['metrics'],
  ready: () => boolean,
  problem: () => string | null,
  routes: ReturnType<typeof timelineRoutes>,
): Promise<void> {
  const listen = m.listen!;
  // A web config that cannot be used is a configuration error (exit 2), never plain HTTP instead.
  const webConfig = m.webConfigFile === null ? null : loadWebConfig(m.webConfigFile);
  try {
    const server = await startMetricsServer(metrics, { ...listen, ready, problem, routes, webConfig });
    note(`metrics on ${server.url}/metrics`);
  } catch (err) {
    const msg = `metrics endpoint ${listen.host}:${listen.port}: ${(err as Error).message}`;
    if (m.explicit) throw new InputError(msg);
    process.stderr.write(`pollscope: warning: ${msg}; metrics are not served (--metrics-listen HOST:PORT or off)\n`);
  }
}
