#!/usr/bin/env node
/**
 * pollscope command line: `replay FILE...` explains a finished log, `run` follows live logs.
 * Flags, the config file and the environment become one configuration in src/config.ts; the
 * exporters are built by src/export/exporters.ts. Errors are thrown as ConfigError (exit 2) or
 * InputError (exit 2); only `main` turns them into messages and exit codes.
 */
import { parseArgs } from 'node:util';
import { parseFlags, REPLAY_FLAGS, RUN_FLAGS } from './cli-flags.js';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { SingleBar, Presets } from 'cli-progress';
import { formatReport, type ReplayReport } from './export/report.js';
import { InputError, layoutsTried, replay } from './replay.js';
import {
  ConfigError,
  envSettings,
  fileSettings,
  flagSettings,
  mergeSettings,
  nearest,
  parseLogArg,
  validateConfig,
  type Given,
  type ReplayConfig,
  type RunConfig,
} from './config.js';
import { planReload } from './config-reload.js';
import { HELP } from './cli-help.js';
import { Daemon, installLastResort } from './daemon.js';
import type { LogSpec } from './source/tailer.js';
import type { TurnTraceSink } from './export/traces.js';
import { formatTraceSummary, traceSummary } from './export/report-traces.js';
import { registerTraceCounters } from './export/trace-metrics.js';
import { exportersFor, loadTraceExporter, traceOptions } from './export/exporters.js';
import { PollscopeMetrics } from './export/metrics.js';
import { sourcesReadOnce, startMetricsServer } from './export/metrics-server.js';
import { loadWebConfig } from './export/web-config.js';
import { TimelineSink } from './export/timeline.js';
import { timelineRoutes, writeTimelineHtml } from './export/timeline-html.js';

async function replayCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseFlags('replay', args, REPLAY_FLAGS, true);
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new ConfigError('replay needs at least one FILE', true);
  const progress = v['no-progress'] ? false : v.progress ? true : undefined;
  const cfg: ReplayConfig = validateConfig(
    mergeSettings(
      envSettings(),
      flagSettings(v, [
        ...(progress !== undefined ? [['progress', progress, '--progress'] as [string, unknown, string]] : []),
        ...(v.relay !== undefined ? [['relay', v.relay, '--relay'] as [string, unknown, string]] : []),
      ]),
    ),
    'replay',
    positionals,
  );
  const metrics = cfg.metricsOut !== null ? new PollscopeMetrics() : null;
  const traceOpts = traceOptions(cfg.traces);
  if (traceOpts !== null) await loadTraceExporter();
  const exporters = exportersFor(cfg.relay, { report: true, metrics, traces: traceOpts });
  const timeline = cfg.html !== null ? new TimelineSink() : null;
  const traces = exporters.traces;
  if (metrics && traces) registerTraceCounters(metrics.registry, () => [traces]);
  const bar = (cfg.progress ?? process.stderr.isTTY === true) ? progressBar() : null;
  let report;
  try {
    report = await replay(cfg.files, {
      thresholds: cfg.thresholds,
      date: cfg.date,
      maxLineBytes: cfg.maxLineBytes,
      jobs: cfg.jobs,
      report: exporters.report!,
      sinks: timeline ? [...exporters.sinks, timeline] : exporters.sinks,
      relay: cfg.relay,
      onPipeline: (pipeline) => exporters.metrics?.attach(pipeline),
      // Replay reads faster than any collector takes spans: wait for the exporter rather than drop.
      pace: traces ? () => traces.backpressure() : undefined,
      onProgress: bar ? progressTo(bar) : undefined,
    });
  } finally {
    bar?.stop();
  }
  // Traces: the kept turns are flushed (with a deadline) before the report lists their ids.
  if (traces) await traces.shutdown(10_000);
  if (metrics && exporters.metrics && cfg.metricsOut !== null) {
    metrics.attachSource({ bytesRead: report.run.bytes, rotations: 0, truncations: 0 });
    try {
      // Stamped with the log time of the last line read: the values are the log's at that time.
      await writeFile(cfg.metricsOut, await metrics.renderStamped(exporters.metrics.pipeline?.lastRecordSec ?? NaN));
    } catch (err) {
      throw new InputError(`--metrics-out ${cfg.metricsOut}: ${(err as Error).message}`);
    }
  }
  if (timeline && cfg.html !== null) await writeHtml(cfg.html, timeline, report);
  const summary = traces ? traceSummary(traces, cfg.traces.endpoint ?? '', cfg.traces.jaegerUi ?? undefined) : null;
  process.stdout.write(
    cfg.json
      ? JSON.stringify(summary ? { ...report, traces: summary } : report, null, 2) + '\n'
      : formatReport(report) + (summary ? formatTraceSummary(summary) : ''),
  );
  // An input that ended early (a damaged gzip): the report covers less than the input.
  for (const e of report.inputErrors) process.stderr.write(`pollscope: ${e.path}: ${e.error}\n`);
  const status = unrecognisedFiles(report.files);
  return report.inputErrors.length > 0 ? 1 : status;
}

/** The replay's progress on the bar; a pipe has no total, so bytes read so far instead. */
function progressTo(bar: SingleBar): (done: number, total: number | null) => void {
  let started = false;
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  return (done, total) => {
    if (total === null) return void process.stderr.write(`\rreplay: ${mb(done)} MB read`);
    if (!started) {
      bar.start(mb(total), 0);
      started = true;
    }
    bar.update(mb(done));
  };
}

async function writeHtml(file: string, timeline: TimelineSink, report: ReplayReport): Promise<void> {
  try {
    const bytes = await writeTimelineHtml(file, timeline, report);
    process.stderr.write(`pollscope: timeline written to ${file} (${Math.ceil(bytes / 1024)} kB)\n`);
  } catch (err) {
    throw new InputError(`--html ${file}: ${(err as Error).message}`);
  }
}

/** Says which files had no recognisable line; exit status 1 when none had one. */
function unrecognisedFiles(files: ReplayReport['files']): number {
  const unrecognised = files.filter((f) => f.envelope === null);
  for (const f of unrecognised) {
    process.stderr.write(
      `pollscope: ${f.path}: no recognisable log lines (${f.lines} lines). Layouts tried:\n` +
        layoutsTried()
          .map((l) => `  - ${l}\n`)
          .join(''),
    );
  }
  return unrecognised.length === files.length ? 1 : 0;
}

/**
 * A bar on a terminal; elsewhere (an explicit --progress with stderr in a file or pipe) a plain
 * line every 2 s, which cli-progress prints with `noTTYOutput`.
 */
function progressBar(): SingleBar {
  const tty = process.stderr.isTTY === true;
  return new SingleBar(
    {
      stream: process.stderr,
      format: tty
        ? 'replay [{bar}] {percentage}% | {value}/{total} MB | ETA {eta}s'
        : 'pollscope: replay: {percentage}% | {value}/{total} MB | ETA {eta}s',
      hideCursor: tty,
      clearOnComplete: true,
      noTTYOutput: true,
      notTTYSchedule: 2000,
    },
    Presets.shades_classic,
  );
}

/** `pollscope run`: defaults < config file < environment < flags; runs until SIGTERM/SIGINT (or stdin ends). */
async function runCommand(args: string[]): Promise<number> {
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

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function command(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  switch (name) {
    case 'replay':
      return replayCommand(rest);
    case 'run':
      return runCommand(rest);
    case '--version':
    case '-V':
      process.stdout.write(`pollscope ${version()}\n`);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return 0;
    default: {
      const near = nearest(name, ['replay', 'run', 'help']);
      throw new ConfigError(`unknown command '${name}'${near !== null ? ` (did you mean ${near}?)` : ''}`, true);
    }
  }
}

/** The only place that ends the process: errors become one line on stderr and an exit status. */
async function main(argv: string[]): Promise<void> {
  let code: number;
  try {
    code = await command(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pollscope: ${err.message}\n${err.usage ? "Try 'pollscope --help'.\n" : ''}`);
      code = 2;
    } else if (err instanceof InputError) {
      process.stderr.write(`pollscope: ${err.message}\n`);
      code = 2;
    } else {
      process.stderr.write(`pollscope: internal error: ${(err as Error).stack ?? String(err)}\n`);
      code = 70;
    }
  }
  // `run` leaves watchers, timers and a server behind: it ends here. `replay` ends when its
  // output is written (exitCode), so that nothing still queued for stdout is cut off.
  if (argv[0] === 'run') process.exit(code);
  process.exitCode = code;
}

void main(process.argv.slice(2));
