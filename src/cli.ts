#!/usr/bin/env node
/**
 * pollscope command line: `replay FILE...` explains a finished log, `run` follows live logs.
 * Flags, the config file and the environment become one configuration in src/config.ts; the
 * exporters are built by src/export/exporters.ts. Errors are thrown as ConfigError (exit 2) or
 * InputError (exit 2); only `main` turns them into messages and exit codes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { SingleBar, Presets } from 'cli-progress';
import { formatReport } from './export/report.js';
import { InputError, layoutsTried, replay } from './replay.js';
import {
  ConfigError,
  DEFAULT_CHECKPOINT,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_TRACES,
  envSettings,
  fileSettings,
  flagSettings,
  mergeSettings,
  nearest,
  parseLogArg,
  planReload,
  validateConfig,
  type Given,
  type ReplayConfig,
  type RunConfig,
} from './config.js';
import { Daemon } from './daemon.js';
import type { LogSpec } from './source/tailer.js';
import { formatTraceSummary, registerTraceCounters, traceSummary, type TurnTraceSink } from './export/traces.js';
import { exportersFor, traceOptions } from './export/exporters.js';
import { PollscopeMetrics } from './export/metrics.js';
import { sourcesReadOnce, startMetricsServer } from './export/metrics-server.js';

const HELP = `pollscope — what a Rust libp2p relay's async runtime did, from its trace log

Usage:
  pollscope replay [options] FILE...   explain finished log file(s), read in the order given
  pollscope run [options]              follow live log(s) as they grow and rotate (docs/live.md)
  pollscope --help | --version

Replay options:
  --json                    print the report as one JSON document instead of text
  --slow-poll DURATION      poll cycle counted as slow_poll          (default 50ms)
  --blocked-poll DURATION   poll cycle that is a blocked_poll stall   (default 1s)
  --starved DURATION        I/O readiness with no swarm poll: starved (default 1s)
  --silent DURATION         nothing logged while running: silent      (default 1s)
  --date YYYY-MM-DD         date for logs whose lines have none (wezterm); default: file mtime
  --max-line-bytes N        longer lines are skipped and counted      (default ${DEFAULT_MAX_LINE_BYTES})
  --progress / --no-progress  progress on stderr (default: a bar when stderr is a terminal);
                            --progress elsewhere prints a plain progress line every 2 s
  --metrics-out FILE        also write the final metric values as OpenMetrics text (docs/metrics.md),
                            e.g. for promtool tsdb create-blocks-from openmetrics
  --relay NAME              relay name in those metrics and in traces     (default replay)

Traces (OpenTelemetry, off unless an endpoint is set here or in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT):
  --otlp-endpoint URL       OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (/v1/traces appended)
  --jaeger-ui URL           print a Jaeger link to each stall's trace, e.g. http://127.0.0.1:16686
  --trace-sample FRACTION   share of ordinary turns kept (default ${DEFAULT_TRACES.sample}); stalls always kept
  --trace-max-spans N       spans per second of log time at most (default ${DEFAULT_TRACES.maxSpans})
  --trace-keep-wait DURATION   keep every turn whose epoll wait blocked this long (default ${DEFAULT_TRACES.keepWaitNs / 1e9}s)
  --trace-keep-delay DURATION  keep every turn with a wake→poll delay this long (default ${DEFAULT_TRACES.keepDelayNs / 1e6}ms)

Run options (pollscope run; a config file gives the same settings, flags override it):
  --log PATH_OR_GLOB[=NAME] follow a file, or every file a glob (wildcards in the file name) matches,
                            also files that appear later; repeatable. NAME: the relay it belongs to
  --stdin                   read lines from stdin (relay 2>&1 | pollscope run --stdin)
  --relay NAME              relay name of the --log/--stdin before it (default: from the file name;
                            'stdin'); before any source: the default for all
  --from end|start          where to begin in a file seen for the first time (default end);
                            a checkpoint always wins, files appearing later are read from their start
  --config FILE             YAML or JSON settings (docs/live.md); \${NAME} in values = env variable NAME;
                            an unknown key is an error naming the nearest known one
  --checkpoint FILE         position state file (default ./${DEFAULT_CHECKPOINT})
  --checkpoint-interval DURATION  save positions this often (default 1s; also on SIGTERM/SIGINT)
  --poll-interval DURATION  stat every followed path this often (default 250ms; chokidar events
                            trigger extra looks)
  --flush-partial-after DURATION  hand a last line still missing its newline over after this long
                            (default: hold it until the newline arrives)
  --no-watch                no chokidar change hints, stat polling only
  --max-line-bytes, --slow-poll, --blocked-poll, --starved, --silent  as for replay
  --audit-records FILE      append each processed record's first line (relay TAB message), committed
                            together with the checkpoint: after kill -9 it holds each line once
  --metrics-listen HOST:PORT  serve /metrics (Prometheus/OpenMetrics), /healthz, /readyz there
                            (default 127.0.0.1:9464; 'off': no endpoint; docs/metrics.md). Given
                            explicitly, failing to listen is fatal; the default only warns
  --otlp-endpoint URL, --trace-sample, --trace-max-spans, --trace-keep-wait, --trace-keep-delay
                            traces of each relay's turns, as for replay (docs/spans.md); the queue
                            is flushed on SIGTERM/SIGINT within the stop deadline
  Live stalls (blocked_poll, starved, silent) are printed to stderr when they start and end.
  SIGHUP re-reads --config (flags still override): the file list and thresholds change in place,
  keeping positions; other changed settings are reported as needing a restart and kept. Without
  --config there is nothing to reload. SIGTERM/SIGINT: finish the lines read, save the checkpoint,
  exit 0.

Settings are taken from the defaults, then the --config file, then OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
(traces), then the flags: a later one wins.
DURATION is a number with a unit (250ms, 1.5s, 800us) or a plain number of milliseconds, and must
be greater than 0. A negative value is an error (--blocked-poll -1s and --blocked-poll=-1s alike).

Exit status: 0 report printed (run: stopped by a signal); 1 no file had a recognisable log line;
2 bad usage or configuration, or a file that does not exist or cannot be read.
`;

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags `replay` and `run` share. */
const SHARED_FLAGS = {
  'slow-poll': { type: 'string' },
  'blocked-poll': { type: 'string' },
  starved: { type: 'string' },
  silent: { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'otlp-endpoint': { type: 'string' },
  'trace-sample': { type: 'string' },
  'trace-max-spans': { type: 'string' },
  'trace-keep-wait': { type: 'string' },
  'trace-keep-delay': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const REPLAY_FLAGS = {
  ...SHARED_FLAGS,
  json: { type: 'boolean' },
  date: { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'metrics-out': { type: 'string' },
  relay: { type: 'string' },
  'jaeger-ui': { type: 'string' },
} as const satisfies Options;

const RUN_FLAGS = {
  ...SHARED_FLAGS,
  log: { type: 'string', multiple: true },
  stdin: { type: 'boolean' },
  relay: { type: 'string', multiple: true },
  from: { type: 'string' },
  config: { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-interval': { type: 'string' },
  'poll-interval': { type: 'string' },
  'flush-partial-after': { type: 'string' },
  'no-watch': { type: 'boolean' },
  'audit-records': { type: 'string' },
  'metrics-listen': { type: 'string' },
} as const satisfies Options;

/**
 * parseArgs with plain messages. A value that starts with '-' (`--blocked-poll -1s`) would be
 * taken for an option ("argument is ambiguous"): a number after a flag that takes a value is
 * joined to it, so that the value's own check says what is wrong with it.
 */
function parseFlags<O extends Options>(command: string, args: string[], options: O, positionals: boolean) {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      joined.push(...args.slice(i));
      break;
    }
    const spec = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    if (spec?.type === 'string' && i + 1 < args.length && /^-[\d.]/.test(args[i + 1])) joined.push(`${a}=${args[++i]}`);
    else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: positionals, strict: true, tokens: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const name = /'(-[^' ]*)/.exec(e.message)?.[1] ?? '';
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
        const near = nearest(name.replace(/^-+/, ''), Object.keys(options));
        throw new ConfigError(
          `${command}: unknown option ${name}${near !== null ? ` (did you mean --${near}?)` : ''}`,
          true,
        );
      }
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        if (options[name.replace(/^-+/, '')]?.type === 'boolean') throw new ConfigError(`${name} takes no value`, true);
        throw new ConfigError(`${name} needs a value (one that starts with '-' is written ${name}=VALUE)`, true);
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new ConfigError(`${command}: unexpected argument ${name || e.message} (${command} takes no FILE)`, true);
      default:
        throw new ConfigError(e.message, true);
    }
  }
}

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
  const exporters = exportersFor(cfg.relay, { report: true, metrics, traces: traceOptions(cfg.traces) });
  const traces = exporters.traces;
  if (metrics && traces) registerTraceCounters(metrics.registry, () => [traces]);
  const bar = (cfg.progress ?? process.stderr.isTTY === true) ? progressBar() : null;
  let barStarted = false;
  let report;
  try {
    report = await replay(cfg.files, {
      thresholds: cfg.thresholds,
      date: cfg.date,
      maxLineBytes: cfg.maxLineBytes,
      report: exporters.report!,
      sinks: exporters.sinks,
      relay: cfg.relay,
      onPipeline: (pipeline) => exporters.metrics?.attach({ pipeline }),
      // Replay reads faster than any collector takes spans: wait for the exporter rather than drop.
      pace: traces ? () => traces.backpressure() : undefined,
      onProgress: bar
        ? (done, total) => {
            const mb = (n: number) => Math.round(n / 1e5) / 10;
            if (!barStarted) {
              bar.start(mb(total), 0);
              barStarted = true;
            }
            bar.update(mb(done));
          }
        : undefined,
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
      await writeFile(
        cfg.metricsOut,
        await metrics.renderStamped(exporters.metrics.readouts.pipeline?.lastRecordSec ?? NaN),
      );
    } catch (err) {
      throw new InputError(`--metrics-out ${cfg.metricsOut}: ${(err as Error).message}`);
    }
  }
  const summary = traces ? traceSummary(traces, cfg.traces.endpoint ?? '', cfg.traces.jaegerUi ?? undefined) : null;
  process.stdout.write(
    cfg.json
      ? JSON.stringify(summary ? { ...report, traces: summary } : report, null, 2) + '\n'
      : formatReport(report) + (summary ? formatTraceSummary(summary) : ''),
  );
  const unrecognised = report.files.filter((f) => f.envelope === null);
  for (const f of unrecognised) {
    process.stderr.write(
      `pollscope: ${f.path}: no recognisable log lines (${f.lines} lines). Layouts tried:\n` +
        layoutsTried()
          .map((l) => `  - ${l}\n`)
          .join(''),
    );
  }
  return unrecognised.length === report.files.length ? 1 : 0;
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
  // --relay names the source right before it (or, before any source, all of them).
  const logs: LogSpec[] = [];
  let stdinRelay: string | null = null;
  let defaultRelay: string | null = null;
  let last: 'log' | 'stdin' | null = null;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (t.name === 'log') {
      logs.push(parseLogArg(t.value ?? '', null));
      last = 'log';
    } else if (t.name === 'stdin') last = 'stdin';
    else if (t.name === 'relay') {
      if (last === 'log' && logs[logs.length - 1].relay === null) logs[logs.length - 1].relay = t.value ?? null;
      else if (last === 'stdin' && stdinRelay === null) stdinRelay = t.value ?? null;
      else defaultRelay = t.value ?? null;
      last = null;
    }
  }
  const extra: Array<[string, unknown, string]> = [];
  if (logs.length > 0)
    extra.push(['logs', logs.map((l) => ({ path: l.pattern, relay: l.relay ?? defaultRelay })), '--log']);
  if (v.stdin) extra.push(['stdin', stdinRelay ?? defaultRelay ?? 'stdin', '--stdin']);
  if (v['no-watch']) extra.push(['watch', false, '--no-watch']);
  const flags = flagSettings(v, extra);
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
  if (traces !== null) registerTraceCounters(metrics.registry, () => traceSinks);
  const note = (line: string) => process.stderr.write(`pollscope: run: ${line}\n`);
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    done = resolve;
  });
  const daemon = new Daemon(cfg, {
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
    note('stopped, checkpoint saved');
    done(0);
  }
  process.on('SIGTERM', () => {
    void shutdown();
  });
  process.on('SIGINT', () => {
    void shutdown();
  });
  process.on('SIGHUP', () => {
    if (v.config === undefined) {
      note('SIGHUP: nothing to reload (no --config file; the settings come from the command line)');
      return;
    }
    let next: RunConfig;
    try {
      next = build();
    } catch (err) {
      note(`reload failed, keeping the running configuration: ${(err as Error).message}`);
      return;
    }
    const plan = planReload(cfg, next);
    for (const m of plan.needRestart) note(m);
    daemon.reload(plan.config);
    cfg = plan.config;
    note(`configuration reloaded${plan.changed.length > 0 ? ` (${plan.changed.join(', ')} changed)` : ''}`);
  });
  const listen = cfg.metrics.listen;
  if (listen !== null) {
    metrics.attachSource(daemon.tailer.counters);
    const ready = sourcesReadOnce(daemon.tailer, () => cfg.logs);
    try {
      const server = await startMetricsServer(metrics, { ...listen, ready });
      note(`metrics on ${server.url}/metrics`);
    } catch (err) {
      const msg = `metrics endpoint ${listen.host}:${listen.port}: ${(err as Error).message}`;
      if (cfg.metrics.explicit) throw new InputError(msg);
      process.stderr.write(`pollscope: warning: ${msg}; metrics are not served (--metrics-listen HOST:PORT or off)\n`);
    }
  }
  daemon.start();
  const sources = [
    ...cfg.logs.map((l) => (l.relay ? `${l.pattern}=${l.relay}` : l.pattern)),
    ...(cfg.stdin !== null ? [`stdin=${cfg.stdin}`] : []),
  ];
  note(`following ${sources.join(', ')}; checkpoint ${cfg.checkpointPath}`);
  return finished;
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
