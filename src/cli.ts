#!/usr/bin/env node
/**
 * pollscope command line: `replay FILE...` explains a finished log, `run` follows live logs.
 * Flags, the config file and the environment become one configuration in src/config.ts; the
 * exporters are built by src/export/exporters.ts. Errors are thrown as ConfigError (exit 2) or
 * InputError (exit 2); only `main` turns them into messages and exit codes.
 */
import { parseFlags, REPLAY_FLAGS } from './cli-flags.js';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { SingleBar } from 'cli-progress';
import { formatReport, type ReplayReport } from './export/report.js';
import { InputError, layoutsTried, replay } from './replay.js';
import {
  ConfigError,
  envSettings,
  flagSettings,
  mergeSettings,
  nearest,
  validateConfig,
  type ReplayConfig,
} from './config.js';
import { HELP } from './cli-help.js';
import type { TimelineSink } from './export/timeline.js';
import { formatTraceSummary, traceSummary } from './export/report-traces.js';
import { exportersFor, loadTraceExporter, traceOptions } from './export/exporters.js';

// What only some runs use is imported when used: `run` (src/cli-run.ts: the daemon, chokidar,
// proper-lockfile, the metrics server), prom-client, the timeline, the progress bar. A replay's
// start-up was a fifth of its wall time on a 1M-line log while it compiled them all.

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
  const metrics = cfg.metricsOut !== null ? new (await import('./export/metrics.js')).PollscopeMetrics() : null;
  const traceOpts = traceOptions(cfg.traces);
  if (traceOpts !== null) await loadTraceExporter();
  const exporters = exportersFor(cfg.relay, { report: true, metrics, traces: traceOpts });
  const timeline = cfg.html !== null ? new (await import('./export/timeline.js')).TimelineSink() : null;
  const traces = exporters.traces;
  if (metrics && traces)
    (await import('./export/trace-metrics.js')).registerTraceCounters(metrics.registry, () => [traces]);
  const bar = (cfg.progress ?? process.stderr.isTTY === true) ? await progressBar() : null;
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
    const { writeTimelineHtml } = await import('./export/timeline-html.js');
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
async function progressBar(): Promise<SingleBar> {
  const { SingleBar, Presets } = await import('cli-progress');
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
      return (await import('./cli-run.js')).runCommand(rest);
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
