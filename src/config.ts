/**
 * The one configuration model of `replay` and `run`. Settings come in layers, later ones winning:
 * defaults → config file (`run --config`, YAML or JSON) → environment (`OTEL_EXPORTER_OTLP_*`
 * for traces) → command-line flags. Each layer only collects what it was given, with where it
 * came from (`--blocked-poll`, `relay.yaml: thresholds.blocked_poll`); `mergeSettings` lays them
 * over each other and `validateConfig` checks and converts the result once, throwing a
 * `ConfigError` that names the key or flag and what it expects.
 *
 * Secrets stay out of the file: a string value `${NAME}` (or containing it) is replaced by the
 * environment variable NAME when the file is read (also on SIGHUP reload).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { DEFAULT_SLOW_CONNECTION_POLL_NS, DEFAULT_THRESHOLDS, type Thresholds } from './reactor/model.js';
import { defaultCheckpointPath } from './source/state-dir.js';
import { DEFAULT_TIMELINE_WINDOW_NS } from './export/timeline.js';
import type { LogSpec } from './source/tailer.js';
import { describeFsError } from './source/fs-errors.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from './export/metrics-listen.js';
import { ConfigError, convert, describeValue, isMapping, unknownKey, type Given, type Kind } from './config-values.js';

/** The YAML parser, loaded when a config file is read (not on every replay's start-up). */
const loadCommonJs = createRequire(import.meta.url);
const yaml = (): typeof import('yaml') => loadCommonJs('yaml') as typeof import('yaml');

export { ConfigError, nearest, parseLogArg, unknownKey, type Given } from './config-values.js';

export interface MetricsConfig {
  /** Where `/metrics` is served; null = off. */
  listen: { host: string; port: number } | null;
  /** Given by the user (flag or file): failing to listen is fatal. The default only warns. */
  explicit: boolean;
  /** Prometheus exporter-toolkit web config (TLS, basic auth) for the endpoint; null = plain HTTP. */
  webConfigFile: string | null;
}

export interface TracesConfig {
  /** OTLP/HTTP endpoint as given (shown in messages); null = traces off. */
  endpoint: string | null;
  /**
   * Where the endpoint came from. From the environment the OTLP exporter reads the variables
   * itself (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is, the generic one gets /v1/traces).
   */
  endpointFrom: 'flag' | 'file' | 'env' | null;
  /** Share of ordinary turns kept. */
  sample: number;
  /** Spans per second of log time at most. */
  maxSpans: number;
  keepWaitNs: number;
  keepDelayNs: number;
  /** OTLP request headers (e.g. authorization), one `Name: value` a line; read by the OTLP exporter. */
  headersFile: string | null;
  /** CA certificate(s) for an https endpoint; read by the OTLP exporter. */
  caFile: string | null;
  /** Jaeger UI base URL for links (replay). */
  jaegerUi: string | null;
}

export interface RunConfig {
  logs: LogSpec[];
  /** Relay name for lines from stdin; null = stdin not read. */
  stdin: string | null;
  from: 'start' | 'end';
  checkpointPath: string;
  checkpointIntervalMs: number;
  pollIntervalMs: number;
  maxLineBytes: number;
  flushPartialAfterMs: number | null;
  /** Quiet time after which the record held for continuation lines is handed on. */
  flushRecordAfterMs: number;
  /** How long a file that left its path (rotation, deletion) is still read. */
  drainGraceMs: number;
  watchdogTickMs: number;
  thresholds: Thresholds;
  /** chokidar hints on (stat polling is always on). */
  watch: boolean;
  /** Testing/auditing: append every processed record's first line here, committed with the checkpoint. */
  auditPath: string | null;
  /** Log time the live /timeline keeps per relay (docs/timeline.md). */
  timelineWindowNs: number;
  metrics: MetricsConfig;
  traces: TracesConfig;
}

export interface ReplayConfig {
  files: string[];
  json: boolean;
  thresholds: Thresholds;
  /** Date for logs whose lines have none; undefined = each file's mtime. */
  date: Date | undefined;
  maxLineBytes: number;
  /** null = on when stderr is a terminal. */
  progress: boolean | null;
  metricsOut: string | null;
  /** --html: the timeline page to write (docs/timeline.md). */
  html: string | null;
  /** --jobs: 1 one thread; 2+ a parse worker for big files (docs/replay.md). */
  jobs: number;
  relay: string;
  traces: TracesConfig;
}

export const DEFAULT_MAX_LINE_BYTES = 1 << 20;
/**
 * replay --jobs: 2 (a parse worker beside the main thread) when the machine has two cores or
 * more, else 1. More than 2 adds nothing: the split is two stages (docs/replay.md). Measured on
 * an idle 2-core machine, two were faster on env_logger and tracing Full logs and as fast on
 * Compact and JSON (docs/performance.md); on a machine whose cores are busy, `--jobs 1` is faster.
 */
export const DEFAULT_JOBS = Math.min(2, availableParallelism());
export const DEFAULT_METRICS_LISTEN = { host: DEFAULT_METRICS_HOST, port: DEFAULT_METRICS_PORT };
/** The trace keep policy's defaults (the trace exporter's TRACE_DEFAULTS say the same). */
export const DEFAULT_TRACES = { sample: 0.01, maxSpans: 2_000, keepWaitNs: 30e9, keepDelayNs: 10e6 };

export function defaultTracesConfig(): TracesConfig {
  return {
    endpoint: null,
    endpointFrom: null,
    sample: DEFAULT_TRACES.sample,
    maxSpans: DEFAULT_TRACES.maxSpans,
    keepWaitNs: DEFAULT_TRACES.keepWaitNs,
    keepDelayNs: DEFAULT_TRACES.keepDelayNs,
    headersFile: null,
    caFile: null,
    jaegerUi: null,
  };
}

export function defaultRunConfig(): RunConfig {
  return {
    logs: [],
    stdin: null,
    from: 'end',
    // $STATE_DIRECTORY, $XDG_STATE_HOME/pollscope or ~/.local/state/pollscope (src/source/state-dir.ts).
    checkpointPath: defaultCheckpointPath(),
    checkpointIntervalMs: 1000,
    pollIntervalMs: 250,
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    flushPartialAfterMs: null,
    flushRecordAfterMs: 100,
    drainGraceMs: 1000,
    watchdogTickMs: 50,
    thresholds: { ...DEFAULT_THRESHOLDS },
    watch: true,
    auditPath: null,
    timelineWindowNs: DEFAULT_TIMELINE_WINDOW_NS,
    metrics: { listen: { ...DEFAULT_METRICS_LISTEN }, explicit: false, webConfigFile: null },
    traces: defaultTracesConfig(),
  };
}

// ---- the keys ---------------------------------------------------------------------------------

interface KeySpec {
  /** Config-file name: `section.key` for keys of a section. */
  key: string;
  kind: Kind;
  /** Command-line flag (without `--`), if any. */
  flag?: string;
  /** Allowed in `run --config` (replay-only keys are flags only). */
  inFile: boolean;
  /** SIGHUP applies it to the running daemon; anything else needs a restart. */
  reloadable?: boolean;
}

/** Every setting of both commands. Flags handled by the CLI itself (--log order, --relay, --config) are not here. */
export const KEYS: readonly KeySpec[] = [
  { key: 'logs', kind: 'logs', inFile: true, reloadable: true },
  { key: 'stdin', kind: 'stdin', inFile: true },
  { key: 'from', kind: 'from', flag: 'from', inFile: true },
  { key: 'checkpoint', kind: 'path', flag: 'checkpoint', inFile: true },
  { key: 'checkpoint_interval', kind: 'duration', flag: 'checkpoint-interval', inFile: true },
  { key: 'poll_interval', kind: 'duration', flag: 'poll-interval', inFile: true },
  { key: 'flush_partial_after', kind: 'durationOrOff', flag: 'flush-partial-after', inFile: true },
  { key: 'max_line_bytes', kind: 'positiveInt', flag: 'max-line-bytes', inFile: true },
  { key: 'watch', kind: 'boolean', inFile: true },
  { key: 'audit_records', kind: 'path', flag: 'audit-records', inFile: true },
  { key: 'timeline_window', kind: 'duration', flag: 'timeline-window', inFile: true },
  { key: 'thresholds.slow_poll', kind: 'duration', flag: 'slow-poll', inFile: true, reloadable: true },
  { key: 'thresholds.blocked_poll', kind: 'duration', flag: 'blocked-poll', inFile: true, reloadable: true },
  { key: 'thresholds.starved', kind: 'duration', flag: 'starved', inFile: true, reloadable: true },
  { key: 'thresholds.silent', kind: 'duration', flag: 'silent', inFile: true, reloadable: true },
  {
    key: 'thresholds.slow_connection_poll',
    kind: 'duration',
    flag: 'slow-connection-poll',
    inFile: true,
    reloadable: true,
  },
  { key: 'metrics.listen', kind: 'listen', flag: 'metrics-listen', inFile: true },
  { key: 'metrics.web_config_file', kind: 'readablePath', flag: 'web-config-file', inFile: true },
  { key: 'traces.endpoint', kind: 'url', flag: 'otlp-endpoint', inFile: true },
  { key: 'traces.sample', kind: 'fraction', flag: 'trace-sample', inFile: true },
  { key: 'traces.max_spans', kind: 'positiveNumber', flag: 'trace-max-spans', inFile: true },
  { key: 'traces.keep_wait', kind: 'duration', flag: 'trace-keep-wait', inFile: true },
  { key: 'traces.keep_delay', kind: 'duration', flag: 'trace-keep-delay', inFile: true },
  { key: 'traces.headers_file', kind: 'readablePath', inFile: true },
  { key: 'traces.ca_file', kind: 'readablePath', inFile: true },
  // replay only
  { key: 'traces.jaeger_ui', kind: 'url', flag: 'jaeger-ui', inFile: false },
  { key: 'json', kind: 'boolean', flag: 'json', inFile: false },
  { key: 'date', kind: 'date', flag: 'date', inFile: false },
  { key: 'progress', kind: 'boolean', inFile: false },
  { key: 'metrics_out', kind: 'path', flag: 'metrics-out', inFile: false },
  { key: 'html', kind: 'path', flag: 'html', inFile: false },
  { key: 'jobs', kind: 'positiveInt', flag: 'jobs', inFile: false },
  { key: 'relay', kind: 'relay', inFile: false },
];

const SPEC = new Map(KEYS.map((k) => [k.key, k]));
const FILE_KEYS = KEYS.filter((k) => k.inFile).map((k) => k.key);
const SECTIONS = new Set(FILE_KEYS.filter((k) => k.includes('.')).map((k) => k.slice(0, k.indexOf('.'))));

export type Settings = Map<string, Given>;

/** Later layers win, key by key. */
export function mergeSettings(...layers: Settings[]): Settings {
  const out: Settings = new Map();
  for (const layer of layers) for (const [k, g] of layer) out.set(k, g);
  return out;
}

// ---- layers -----------------------------------------------------------------------------------

/** Reads a config file: its settings, with unknown keys and wrong shapes reported by name. */
export function fileSettings(file: string): Settings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config ${file}: ${describeFsError(err)}`, true);
  }
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not YAML or JSON: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isMapping(doc)) throw new ConfigError(`${file}: expected a mapping (key: value lines) at the top level`);
  const out: Settings = new Map();
  const put = (key: string, value: unknown) =>
    out.set(key, { value: expandEnv(value, file, key), origin: `${file}: ${key}`, layer: 'file' });
  for (const [name, value] of Object.entries(doc)) {
    if (SECTIONS.has(name)) {
      if (!isMapping(value)) throw new ConfigError(`${file}: ${name}: ${describeValue(value)} is not a mapping`);
      const known = FILE_KEYS.filter((k) => k.startsWith(name + '.')).map((k) => k.slice(name.length + 1));
      for (const [sub, v] of Object.entries(value)) {
        if (!known.includes(sub)) throw new ConfigError(`${file}: ${name}: ${unknownKey(sub, known)}`);
        put(`${name}.${sub}`, v);
      }
    } else if (SPEC.get(name)?.inFile) put(name, value);
    else {
      // A top-level name that belongs in a section is suggested with its section (slow_pol → thresholds.slow_poll).
      const topLevel = [...FILE_KEYS.filter((k) => !k.includes('.')), ...SECTIONS];
      throw new ConfigError(`${file}: ${unknownKey(name, FILE_KEYS, topLevel)}`);
    }
  }
  return out;
}

/**
 * The OpenTelemetry variables that say where traces go (the OTLP exporter reads the others —
 * headers, timeout, compression — itself).
 */
export function envSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const out: Settings = new Map();
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    const v = env[name];
    if (v !== undefined && v !== '') out.set('traces.endpoint', { value: v, origin: name, layer: 'env' });
  }
  return out;
}

/** Flag values (parseArgs' `values`, by flag name) as settings; `extra` are settings the CLI assembled itself. */
export function flagSettings(values: Record<string, unknown>, extra: Array<[string, unknown, string]> = []): Settings {
  const out: Settings = new Map();
  for (const spec of KEYS) {
    if (spec.flag === undefined) continue;
    const v = values[spec.flag];
    if (v !== undefined) out.set(spec.key, { value: v, origin: `--${spec.flag}`, layer: 'flag' });
  }
  for (const [key, value, origin] of extra) out.set(key, { value, origin, layer: 'flag' });
  return out;
}

// ---- validation -------------------------------------------------------------------------------

/** Checks every setting given and builds the `run` configuration. */
export function validateConfig(settings: Settings, command: 'run'): RunConfig;
/** Checks every setting given and builds the `replay` configuration (`files` from the command line). */
export function validateConfig(settings: Settings, command: 'replay', files: string[]): ReplayConfig;
export function validateConfig(
  settings: Settings,
  command: 'run' | 'replay',
  files: string[] = [],
): RunConfig | ReplayConfig {
  const d = defaultRunConfig();
  const val = <T>(key: string, fallback: T): T => {
    const g = settings.get(key);
    return g === undefined ? fallback : (convert(SPEC.get(key)!.kind, g) as T);
  };
  const thresholds: Thresholds = {
    slowPollNs: val('thresholds.slow_poll', d.thresholds.slowPollNs),
    blockedPollNs: val('thresholds.blocked_poll', d.thresholds.blockedPollNs),
    starvedNs: val('thresholds.starved', d.thresholds.starvedNs),
    silentNs: val('thresholds.silent', d.thresholds.silentNs),
    slowConnectionPollNs: val('thresholds.slow_connection_poll', DEFAULT_SLOW_CONNECTION_POLL_NS),
  };
  const endpoint = settings.get('traces.endpoint');
  const traces: TracesConfig = {
    endpoint: val<string | null>('traces.endpoint', null),
    endpointFrom: endpoint?.layer ?? null,
    sample: val('traces.sample', d.traces.sample),
    maxSpans: val('traces.max_spans', d.traces.maxSpans),
    keepWaitNs: val('traces.keep_wait', d.traces.keepWaitNs),
    keepDelayNs: val('traces.keep_delay', d.traces.keepDelayNs),
    headersFile: val<string | null>('traces.headers_file', null),
    caFile: val<string | null>('traces.ca_file', null),
    jaegerUi: val<string | null>('traces.jaeger_ui', null),
  };
  if (traces.jaegerUi !== null && traces.endpoint === null)
    throw new ConfigError('--jaeger-ui needs --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT)', true);
  const maxLineBytes = val('max_line_bytes', d.maxLineBytes);
  if (command === 'replay') {
    return {
      files,
      json: val('json', false),
      thresholds,
      date: val<Date | undefined>('date', undefined),
      maxLineBytes,
      progress: val<boolean | null>('progress', null),
      metricsOut: val<string | null>('metrics_out', null),
      html: val<string | null>('html', null),
      jobs: val('jobs', DEFAULT_JOBS),
      relay: val('relay', 'replay'),
      traces,
    };
  }
  const listen = val<{ host: string; port: number } | null | undefined>('metrics.listen', undefined);
  const logs = val('logs', d.logs);
  const stdin = val('stdin', d.stdin);
  if (logs.length === 0 && stdin === null)
    throw new ConfigError('run needs --log PATH, --stdin, or logs: in --config', !settings.has('logs'));
  return {
    ...d,
    logs,
    stdin,
    from: val('from', d.from),
    checkpointPath: val('checkpoint', d.checkpointPath),
    checkpointIntervalMs: val('checkpoint_interval', d.checkpointIntervalMs * 1e6) / 1e6,
    pollIntervalMs: Math.max(1, val('poll_interval', d.pollIntervalMs * 1e6) / 1e6),
    flushPartialAfterMs: nsToMs(val<number | null>('flush_partial_after', null)),
    maxLineBytes,
    watch: val('watch', d.watch),
    auditPath: val<string | null>('audit_records', null),
    timelineWindowNs: val('timeline_window', d.timelineWindowNs),
    thresholds,
    metrics: {
      ...(listen === undefined ? d.metrics : { listen, explicit: true }),
      webConfigFile: val<string | null>('metrics.web_config_file', null),
    },
    traces,
  };
}

const nsToMs = (ns: number | null): number | null => (ns === null ? null : ns / 1e6);

function expandEnv(v: unknown, file: string, key: string): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const value = process.env[name];
      if (value === undefined) throw new ConfigError(`${file}: ${key}: environment variable ${name} is not set`);
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((e) => expandEnv(e, file, key));
  if (isMapping(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) out[k] = expandEnv(e, file, key);
    return out;
  }
  return v;
}
