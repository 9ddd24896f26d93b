#!/usr/bin/env node
/**
 * pollscope command line. `replay FILE...` explains a finished log; further commands (the live
 * daemon `run`) come with their issues.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import { formatReport } from './export/report.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './reactor/model.js';
import { DEFAULT_MAX_LINE_BYTES, defaultJobs, InputError, layoutsTried, replay } from './replay.js';
import { parseRustDuration } from './time.js';
import { ConfigError, defaultRunConfig, loadConfigFile, parseLogArg, type RunConfig } from './config.js';
import { Daemon } from './daemon.js';
import type { LogSpec } from './source/tailer.js';
import {
  formatTraceSummary,
  registerTraceCounters,
  TRACE_DEFAULTS,
  traceSummary,
  tracesConfigured,
  TurnTraceSink,
  type TraceOptions,
} from './export/traces.js';
import { writeFile } from 'node:fs/promises';
import { PollscopeMetrics } from './export/metrics.js';
import {
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  parseListen,
  sourcesReadOnce,
  startMetricsServer,
} from './export/metrics-server.js';
import type { ObservationSink } from './reactor/observations.js';

const HELP = `pollscope — what a Rust libp2p relay's async runtime did, from its trace log

Usage:
  pollscope replay [options] FILE...   explain finished log file(s), read in the order given;
                                       a FILE may be gzip'd, '-' (stdin), a FIFO or <(zcat …)
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
  --jobs N                  1: one thread; 2+: files of 8 MiB or more are read and parsed by a
                            worker thread while the main one models them (same results)  (default ${defaultJobs()})
  --progress / --no-progress  progress bar on stderr (default: on when stderr is a terminal)
  --metrics-out FILE        also write the final metric values as OpenMetrics text (docs/metrics.md),
                            e.g. for promtool tsdb create-blocks-from openmetrics
  --relay NAME              relay name in those metrics and in traces     (default replay)

Traces (OpenTelemetry, off unless an endpoint is set here or in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT):
  --otlp-endpoint URL       OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (/v1/traces appended)
  --jaeger-ui URL           print a Jaeger link to each stall's trace, e.g. http://127.0.0.1:16686
  --trace-sample FRACTION   share of ordinary turns kept (default ${TRACE_DEFAULTS.keepFraction}); stalls always kept
  --trace-max-spans N       spans per second of log time at most (default ${TRACE_DEFAULTS.maxSpansPerSec})
  --trace-keep-wait DURATION   keep every turn whose epoll wait blocked this long (default ${TRACE_DEFAULTS.keepWaitNs / 1e9}s)
  --trace-keep-delay DURATION  keep every turn with a wake→poll delay this long (default ${TRACE_DEFAULTS.keepWakeToPollNs / 1e6}ms)

Run options (pollscope run; a config file gives the same settings, flags override it):
  --log PATH_OR_GLOB[=NAME] follow a file, or every file a glob (wildcards in the file name) matches,
                            also files that appear later; repeatable. NAME: the relay it belongs to
  --stdin                   read lines from stdin (relay 2>&1 | pollscope run --stdin)
  --relay NAME              relay name of the --log/--stdin before it (default: from the file name;
                            'stdin'); before any source: the default for all
  --from end|start          where to begin in a file seen for the first time (default end);
                            a checkpoint always wins, files appearing later are read from their start
  --config FILE             YAML or JSON settings (docs/live.md); \${NAME} in values = env variable NAME
  --checkpoint FILE         position state file (default ./pollscope-checkpoint.json)
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
  SIGHUP reloads --config (file list, thresholds) keeping positions; SIGTERM/SIGINT: finish the
  lines read, save the checkpoint, exit 0.

DURATION is a number with a unit (250ms, 1.5s, 800us) or a plain number of milliseconds.

Exit status: 0 report printed; 1 no file had a recognisable log line; 2 bad usage or a file
that does not exist or cannot be read.
`;

/** Flags `replay` and `run` share (parseArgs specs). */
const THRESHOLD_FLAGS = {
  'slow-poll': { type: 'string' },
  'blocked-poll': { type: 'string' },
  starved: { type: 'string' },
  silent: { type: 'string' },
} as const;

const TRACE_FLAGS = {
  'otlp-endpoint': { type: 'string' },
  'trace-sample': { type: 'string' },
  'trace-max-spans': { type: 'string' },
  'trace-keep-wait': { type: 'string' },
  'trace-keep-delay': { type: 'string' },
} as const;

function usage(message: string): never {
  process.stderr.write(`pollscope: ${message}\nTry 'pollscope --help'.\n`);
  process.exit(2);
}

function durationFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ns = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1e6 : parseRustDuration(value);
  if (!Number.isFinite(ns) || ns < 0) usage(`--${name}: '${value}' is not a duration (e.g. 250ms, 1.5s)`);
  return ns;
}

/** Stall thresholds: the flags given, else `base` (defaults, or the config file's). */
function thresholdsFromFlags(v: { [K in keyof typeof THRESHOLD_FLAGS]?: string }, base: Thresholds): Thresholds {
  return {
    slowPollNs: durationFlag('slow-poll', v['slow-poll'], base.slowPollNs),
    blockedPollNs: durationFlag('blocked-poll', v['blocked-poll'], base.blockedPollNs),
    starvedNs: durationFlag('starved', v.starved, base.starvedNs),
    silentNs: durationFlag('silent', v.silent, base.silentNs),
  };
}

async function replayCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        ...THRESHOLD_FLAGS,
        date: { type: 'string' },
        'max-line-bytes': { type: 'string' },
        jobs: { type: 'string' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        'metrics-out': { type: 'string' },
        relay: { type: 'string' },
        ...TRACE_FLAGS,
        'jaeger-ui': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.positionals.length === 0) usage('replay needs at least one FILE');
  const thresholds = thresholdsFromFlags(v, DEFAULT_THRESHOLDS);
  let date: Date | undefined;
  if (v.date !== undefined) {
    if (!/^\d{4}-\d\d-\d\d$/.test(v.date)) usage(`--date: '${v.date}' is not YYYY-MM-DD`);
    date = new Date(`${v.date}T00:00:00Z`);
  }
  let maxLineBytes = DEFAULT_MAX_LINE_BYTES;
  if (v['max-line-bytes'] !== undefined) {
    maxLineBytes = Number(v['max-line-bytes']);
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1)
      usage(`--max-line-bytes: '${v['max-line-bytes']}' is not a positive integer`);
  }
  // Metrics sit behind the trace exporter: it forwards observations, with exemplars of kept traces.
  const metrics = v['metrics-out'] !== undefined ? new PollscopeMetrics() : null;
  const relayMetrics = metrics?.forRelay(v.relay ?? 'replay') ?? null;
  const traces = traceSinkFromFlags(v, relayMetrics);
  if (metrics && traces) registerTraceCounters(metrics.registry, () => [traces.sink]);
  const showProgress = v['no-progress'] ? false : (v.progress ?? process.stderr.isTTY === true);
  const bar = showProgress
    ? new SingleBar(
        {
          stream: process.stderr,
          format: 'replay [{bar}] {percentage}% | {value}/{total} MB | ETA {eta}s',
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      )
    : null;
  let barStarted = false;
  let report;
  try {
    report = await replay(parsed.positionals, {
      thresholds,
      date,
      maxLineBytes,
      jobs:
        v.jobs === undefined
          ? undefined
          : Number(v.jobs) >= 1
            ? Math.floor(Number(v.jobs))
            : usage(`--jobs: '${v.jobs}' is not a positive integer`),
      sinks: traces ? [traces.sink] : relayMetrics ? [relayMetrics] : undefined,
      relay: v.relay,
      onPipeline: (pipeline) => relayMetrics?.attach({ pipeline }),
      // Replay reads faster than any collector takes spans: wait for the exporter rather than drop.
      pace: traces ? () => traces.sink.backpressure() : undefined,
      onProgress: bar
        ? (done, total) => {
            const mb = (n: number) => Math.round(n / 1e5) / 10;
            if (total === null) return void process.stderr.write(`\rreplay: ${mb(done)} MB read`); // pipes: no total
            if (!barStarted) {
              bar.start(mb(total), 0);
              barStarted = true;
            }
            bar.update(mb(done));
          }
        : undefined,
    });
  } catch (err) {
    bar?.stop();
    if (err instanceof InputError) {
      process.stderr.write(`pollscope: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  bar?.stop();
  // Traces: the kept turns are flushed (with a deadline) before the report lists their ids.
  if (traces) await traces.sink.shutdown(10_000);
  if (metrics && relayMetrics) {
    metrics.attachSource({ bytesRead: report.run.bytes, rotations: 0, truncations: 0 });
    try {
      // Stamped with the log time of the last line read: the values are the log's at that time.
      await writeFile(
        v['metrics-out']!,
        await metrics.renderStamped(relayMetrics.readouts.pipeline?.lastRecordSec ?? NaN),
      );
    } catch (err) {
      process.stderr.write(`pollscope: --metrics-out ${v['metrics-out']}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const summary = traces ? traceSummary(traces.sink, traces.endpoint, v['jaeger-ui']) : null;
  process.stdout.write(
    v.json
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
  for (const e of report.inputErrors) process.stderr.write(`pollscope: ${e.path}: ${e.error}\n`);
  return unrecognised.length === report.files.length || report.inputErrors.length > 0 ? 1 : 0;
}

/** The trace exporter for `replay`, when an OTLP endpoint is configured (flag or OTEL_* variables). */
function traceSinkFromFlags(
  v: Record<string, unknown>,
  downstream: ObservationSink | null = null,
): { sink: TurnTraceSink; endpoint: string } | null {
  const t = traceOptionsFromFlags(v);
  if (t === null) return null;
  const relay = typeof v.relay === 'string' ? v.relay : 'replay';
  return { sink: new TurnTraceSink(relay, t.options, downstream), endpoint: t.endpoint };
}

/** --otlp-endpoint, --jaeger-ui and --trace-* (replay and run); null when traces are off. */
function traceOptionsFromFlags(v: Record<string, unknown>): { options: TraceOptions; endpoint: string } | null {
  const flag = (name: string): string | undefined => (typeof v[name] === 'string' ? v[name] : undefined);
  const endpoint = flag('otlp-endpoint');
  if (endpoint !== undefined) {
    try {
      new URL(endpoint);
    } catch {
      usage(`--otlp-endpoint: '${endpoint}' is not a URL`);
    }
  }
  const ui = flag('jaeger-ui');
  if (ui !== undefined) {
    try {
      new URL(ui);
    } catch {
      usage(`--jaeger-ui: '${ui}' is not a URL`);
    }
  }
  if (!tracesConfigured(endpoint)) {
    if (ui !== undefined) usage('--jaeger-ui needs --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT)');
    return null;
  }
  let keepFraction: number | undefined;
  if (flag('trace-sample') !== undefined) {
    keepFraction = Number(flag('trace-sample'));
    if (!(keepFraction >= 0 && keepFraction <= 1))
      usage(`--trace-sample: '${flag('trace-sample')}' is not a fraction between 0 and 1`);
  }
  let maxSpansPerSec: number | undefined;
  if (flag('trace-max-spans') !== undefined) {
    maxSpansPerSec = Number(flag('trace-max-spans'));
    if (!(maxSpansPerSec > 0)) usage(`--trace-max-spans: '${flag('trace-max-spans')}' is not a positive number`);
  }
  const options: TraceOptions = {
    endpoint,
    keepFraction,
    maxSpansPerSec,
    keepWaitNs: durationFlag('trace-keep-wait', flag('trace-keep-wait'), TRACE_DEFAULTS.keepWaitNs),
    keepWakeToPollNs: durationFlag('trace-keep-delay', flag('trace-keep-delay'), TRACE_DEFAULTS.keepWakeToPollNs),
  };
  const shown =
    endpoint ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '';
  return { options, endpoint: shown };
}

/** `pollscope run`: flags over the config file over the defaults; runs until SIGTERM/SIGINT (or stdin ends). */
async function runCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      tokens: true,
      options: {
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
        'max-line-bytes': { type: 'string' },
        ...THRESHOLD_FLAGS,
        'audit-records': { type: 'string' },
        'metrics-listen': { type: 'string' },
        ...TRACE_FLAGS,
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // --relay names the source right before it (or, before any source, all of them).
  const logs: LogSpec[] = [];
  let stdinRelay: string | null = null;
  let defaultRelay: string | null = null;
  let last: 'log' | 'stdin' | null = null;
  for (const t of parsed.tokens ?? []) {
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
  for (const l of logs) if (l.relay === null) l.relay = defaultRelay;
  const build = (): RunConfig => {
    const cfg = v.config !== undefined ? loadConfigFile(v.config) : defaultRunConfig();
    if (logs.length > 0) cfg.logs = logs.map((l) => ({ ...l }));
    if (v.stdin) cfg.stdin = stdinRelay ?? defaultRelay ?? 'stdin';
    if (v.from !== undefined) {
      if (v.from !== 'start' && v.from !== 'end') usage(`--from: '${v.from}' is not start or end`);
      cfg.from = v.from;
    }
    if (v.checkpoint !== undefined) cfg.checkpointPath = v.checkpoint;
    if (v['checkpoint-interval'] !== undefined)
      cfg.checkpointIntervalMs = durationFlag('checkpoint-interval', v['checkpoint-interval'], 0) / 1e6;
    if (v['poll-interval'] !== undefined)
      cfg.pollIntervalMs = Math.max(1, durationFlag('poll-interval', v['poll-interval'], 0) / 1e6);
    if (v['flush-partial-after'] !== undefined)
      cfg.flushPartialAfterMs = durationFlag('flush-partial-after', v['flush-partial-after'], 0) / 1e6;
    if (v['no-watch']) cfg.watch = false;
    if (v['max-line-bytes'] !== undefined) {
      cfg.maxLineBytes = Number(v['max-line-bytes']);
      if (!Number.isInteger(cfg.maxLineBytes) || cfg.maxLineBytes < 1)
        usage(`--max-line-bytes: '${v['max-line-bytes']}' is not a positive integer`);
    }
    cfg.thresholds = thresholdsFromFlags(v, cfg.thresholds);
    if (v['audit-records'] !== undefined) cfg.auditPath = v['audit-records'];
    return cfg;
  };
  let cfg: RunConfig;
  let daemon: Daemon;
  const traceSinks: TurnTraceSink[] = [];
  const metrics = new PollscopeMetrics({ live: true });
  let metricsListen: ReturnType<typeof metricsListenFrom> = null;
  try {
    cfg = build();
    if (cfg.logs.length === 0 && cfg.stdin === null) usage('run needs --log PATH, --stdin, or logs: in --config');
    metricsListen = metricsListenFrom(v['metrics-listen'], cfg.raw);
    const traceOpts = traceOptionsFromFlags(v);
    if (traceOpts !== null) registerTraceCounters(metrics.registry, () => traceSinks);
    daemon = new Daemon(cfg, {
      inputEnded: () => {
        void shutdown();
      },
      // Exporters' per-relay sinks (the metrics sink reads the pipeline's counters at scrape time).
      // With traces on, metrics sit behind the trace sink: it forwards each turn's observations
      // once the turn is decided, with exemplars of kept traces.
      sinksFor: (relay, pipeline) => {
        const relayMetrics = metricsListen !== null ? metrics.forRelay(relay, { pipeline }) : null;
        if (traceOpts === null) return relayMetrics ? [relayMetrics] : [];
        const traceSink = new TurnTraceSink(relay, traceOpts.options, relayMetrics);
        traceSinks.push(traceSink);
        return [traceSink];
      },
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SyntaxError) {
      process.stderr.write(`pollscope: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    done = resolve;
  });
  let stopping = false;
  async function shutdown(): Promise<void> {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => {
      process.stderr.write('pollscope: run: did not stop within 5 s\n');
      process.exit(1);
    }, 4800);
    await daemon.stop();
    // The relays' last turns were closed by stop(); send what is queued, within the stop deadline.
    await Promise.all(traceSinks.map((t) => t.shutdown(2_500)));
    clearTimeout(force);
    process.stderr.write('pollscope: run: stopped, checkpoint saved\n');
    done(0);
  }
  process.on('SIGTERM', () => {
    void shutdown();
  });
  process.on('SIGINT', () => {
    void shutdown();
  });
  process.on('SIGHUP', () => {
    try {
      daemon.reload(build());
      process.stderr.write('pollscope: run: configuration reloaded\n');
    } catch (err) {
      process.stderr.write(
        `pollscope: run: reload failed, keeping the running configuration: ${(err as Error).message}\n`,
      );
    }
  });
  if (metricsListen !== null) {
    metrics.attachSource(daemon.tailer.counters);
    const d = daemon;
    const ready = sourcesReadOnce(d.tailer, () => cfg.logs);
    try {
      const server = await startMetricsServer(metrics, { ...metricsListen, ready });
      process.stderr.write(`pollscope: run: metrics on ${server.url}/metrics\n`);
    } catch (err) {
      const msg = `metrics endpoint ${metricsListen.host}:${metricsListen.port}: ${(err as Error).message}`;
      if (metricsListen.explicit) {
        process.stderr.write(`pollscope: ${msg}\n`);
        return 2;
      }
      process.stderr.write(`pollscope: warning: ${msg}; metrics are not served (--metrics-listen HOST:PORT or off)\n`);
    }
  }
  daemon.start();
  const sources = [
    ...cfg.logs.map((l) => (l.relay ? `${l.pattern}=${l.relay}` : l.pattern)),
    ...(cfg.stdin !== null ? [`stdin=${cfg.stdin}`] : []),
  ];
  process.stderr.write(`pollscope: run: following ${sources.join(', ')}; checkpoint ${cfg.checkpointPath}\n`);
  const code = await finished;
  process.exit(code);
}

/** --metrics-listen over the config file's `metrics: { listen: HOST:PORT }` over 127.0.0.1:9464; null = off. */
function metricsListenFrom(
  flag: string | undefined,
  raw: Record<string, unknown>,
): { host: string; port: number; explicit: boolean } | null {
  const section = raw.metrics as { listen?: unknown } | undefined;
  const configured =
    flag ??
    (section && typeof section === 'object' && section.listen !== undefined ? String(section.listen) : undefined);
  if (configured === undefined) return { host: DEFAULT_METRICS_HOST, port: DEFAULT_METRICS_PORT, explicit: false };
  if (configured === 'off' || configured === 'false') return null;
  try {
    return { ...parseListen(configured), explicit: true };
  } catch (err) {
    throw new ConfigError(`--metrics-listen: ${(err as Error).message}`);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
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
    default:
      usage(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pollscope: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 70;
  },
);
