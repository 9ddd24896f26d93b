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
import { accessSync, constants, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_THRESHOLDS, type Thresholds } from './reactor/model.js';
import type { LogSpec } from './source/tailer.js';
import { describeFsError } from './source/fs-errors.js';
import { formatDuration, parseDuration } from './time.js';

/** A configuration problem the user must fix: the CLI prints the message and exits 2. */
export class ConfigError extends Error {
  /** Set when a command-line flag is at fault: the CLI adds a pointer to `--help`. */
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

export interface MetricsConfig {
  /** Where `/metrics` is served; null = off. */
  listen: { host: string; port: number } | null;
  /** Given by the user (flag or file): failing to listen is fatal. The default only warns. */
  explicit: boolean;
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
  relay: string;
  traces: TracesConfig;
}

export const DEFAULT_CHECKPOINT = 'pollscope-checkpoint.json';
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;
export const DEFAULT_METRICS_LISTEN = { host: '127.0.0.1', port: 9464 };
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
    checkpointPath: DEFAULT_CHECKPOINT,
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
    metrics: { listen: { ...DEFAULT_METRICS_LISTEN }, explicit: false },
    traces: defaultTracesConfig(),
  };
}

// ---- the keys ---------------------------------------------------------------------------------

type Kind =
  | 'logs'
  | 'stdin'
  | 'from'
  | 'path'
  | 'readablePath'
  | 'duration'
  | 'durationOrOff'
  | 'positiveInt'
  | 'positiveNumber'
  | 'fraction'
  | 'boolean'
  | 'listen'
  | 'url'
  | 'date'
  | 'relay';

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
  { key: 'thresholds.slow_poll', kind: 'duration', flag: 'slow-poll', inFile: true, reloadable: true },
  { key: 'thresholds.blocked_poll', kind: 'duration', flag: 'blocked-poll', inFile: true, reloadable: true },
  { key: 'thresholds.starved', kind: 'duration', flag: 'starved', inFile: true, reloadable: true },
  { key: 'thresholds.silent', kind: 'duration', flag: 'silent', inFile: true, reloadable: true },
  { key: 'metrics.listen', kind: 'listen', flag: 'metrics-listen', inFile: true },
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
  { key: 'relay', kind: 'relay', inFile: false },
];

const SPEC = new Map(KEYS.map((k) => [k.key, k]));
const FILE_KEYS = KEYS.filter((k) => k.inFile).map((k) => k.key);
const SECTIONS = new Set(FILE_KEYS.filter((k) => k.includes('.')).map((k) => k.slice(0, k.indexOf('.'))));

/** One setting as given, and where: `--blocked-poll`, `relay.yaml: thresholds.silent`, `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export interface Given {
  value: unknown;
  origin: string;
  layer: 'file' | 'env' | 'flag';
}
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
    doc = parseYaml(text);
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
    thresholds,
    metrics: listen === undefined ? d.metrics : { listen, explicit: true },
    traces,
  };
}

const nsToMs = (ns: number | null): number | null => (ns === null ? null : ns / 1e6);

const DURATION_HINT = 'a duration (e.g. 250ms, 1.5s, 800us; a plain number is milliseconds)';

/** One value to its type; the error names where it came from and what is expected. */
function convert(kind: Kind, g: Given): unknown {
  const v = g.value;
  const fail = (expected: string): never => {
    throw new ConfigError(`${g.origin}: ${describeValue(v)} is not ${expected}`, g.layer === 'flag');
  };
  switch (kind) {
    case 'duration':
    case 'durationOrOff': {
      if (kind === 'durationOrOff' && (v === null || v === false || v === 'off')) return null;
      if (typeof v !== 'string' && typeof v !== 'number') fail(DURATION_HINT);
      const ns = parseDuration(v as string | number);
      if (Number.isNaN(ns)) fail(DURATION_HINT);
      if (!(ns > 0) || !Number.isFinite(ns))
        throw new ConfigError(
          `${g.origin}: ${describeValue(v)}: a duration must be greater than 0 (e.g. 250ms, 1.5s)`,
          g.layer === 'flag',
        );
      return ns;
    }
    case 'positiveInt': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n) || n < 1) fail('a whole number greater than 0');
      return n;
    }
    case 'positiveNumber': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!(n > 0) || !Number.isFinite(n)) fail('a number greater than 0');
      return n;
    }
    case 'fraction': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!(n >= 0 && n <= 1)) fail('a fraction between 0 and 1');
      return n;
    }
    case 'boolean':
      if (typeof v !== 'boolean') fail('true or false');
      return v;
    case 'from':
      if (v !== 'start' && v !== 'end') fail('start or end');
      return v;
    case 'path':
    case 'relay':
      if (typeof v !== 'string' || v === '') fail(kind === 'path' ? 'a file path' : 'a name');
      return v;
    case 'readablePath': {
      if (typeof v !== 'string' || v === '') fail('a file path');
      try {
        accessSync(v as string, constants.R_OK);
      } catch (err) {
        throw new ConfigError(`${g.origin}: ${v as string}: ${describeFsError(err)}`, g.layer === 'flag');
      }
      return v;
    }
    case 'url': {
      if (typeof v !== 'string') fail('a URL such as http://127.0.0.1:4318');
      try {
        const u = new URL(v as string);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') fail('an http:// or https:// URL');
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        fail('a URL such as http://127.0.0.1:4318');
      }
      return v;
    }
    case 'listen':
      if (v === 'off' || v === false) return null;
      if (typeof v !== 'string' && typeof v !== 'number') fail("HOST:PORT (e.g. 127.0.0.1:9464) or 'off'");
      return parseListenOrFail(String(v), fail);
    case 'date':
      return parseDate(v, fail);
    case 'stdin':
      // true: read stdin as relay 'stdin'; a string: as that relay; false/null: not read.
      if (v === false || v === null) return null;
      if (v === true) return 'stdin';
      if (typeof v !== 'string' || v === '') fail('true, false or a relay name');
      return v;
    case 'logs': {
      if (!Array.isArray(v)) fail('a list of PATH, PATH=NAME or { path, relay }');
      return (v as unknown[]).map((e, i): LogSpec => {
        if (typeof e === 'string' && e !== '') return parseLogArg(e, null);
        if (isMapping(e)) {
          const extra = Object.keys(e).filter((k) => k !== 'path' && k !== 'relay');
          if (extra.length > 0) throw new ConfigError(`${g.origin}[${i}]: ${unknownKey(extra[0], ['path', 'relay'])}`);
          const relay = e.relay ?? null;
          if (
            typeof e.path === 'string' &&
            e.path !== '' &&
            (relay === null || (typeof relay === 'string' && relay !== ''))
          )
            return { pattern: e.path, relay };
        }
        throw new ConfigError(
          `${g.origin}[${i}]: ${describeValue(e)} is not PATH, PATH=NAME or { path, relay }`,
          g.layer === 'flag',
        );
      });
    }
  }
}

function parseListenOrFail(text: string, fail: (expected: string) => never): { host: string; port: number } {
  // HOST:PORT, :PORT, PORT or [v6]:PORT
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text);
  let host = DEFAULT_METRICS_LISTEN.host;
  let portText = text;
  if (v6) [, host, portText] = v6;
  else {
    const colon = text.lastIndexOf(':');
    if (colon > 0) host = text.slice(0, colon);
    if (colon >= 0) portText = text.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535 || (!v6 && host.includes(':')))
    fail("HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464) or 'off'");
  return { host, port };
}

/** YYYY-MM-DD that is a real calendar day (2022-02-30 is not), as UTC midnight. */
function parseDate(v: unknown, fail: (expected: string) => never): Date {
  const m = typeof v === 'string' ? /^(\d{4})-(\d\d)-(\d\d)$/.exec(v) : null;
  if (!m) return fail('a date (YYYY-MM-DD)');
  const [y, mo, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, day));
  if (mo < 1 || mo > 12 || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== day) {
    const days = mo >= 1 && mo <= 12 ? new Date(Date.UTC(y, mo, 0)).getUTCDate() : 0;
    return fail(days > 0 ? `a date: ${m[1]}-${m[2]} has ${days} days` : 'a date (YYYY-MM-DD, month 01 to 12)');
  }
  return date;
}

// ---- helpers ----------------------------------------------------------------------------------

/** `PATH=NAME` → { pattern, relay }; a lone PATH takes `relay` (null = from the file name). */
export function parseLogArg(arg: string, relay: string | null): LogSpec {
  const eq = arg.lastIndexOf('=');
  if (eq > 0 && eq < arg.length - 1) return { pattern: arg.slice(0, eq), relay: arg.slice(eq + 1) };
  return { pattern: arg, relay };
}

/** "unknown key slow_pol (did you mean slow_poll?)", or the known keys (`listed`) when none is close. */
export function unknownKey(name: string, known: readonly string[], listed: readonly string[] = known): string {
  const near = nearest(name, known);
  return near !== null
    ? `unknown key ${name} (did you mean ${near}?)`
    : `unknown key ${name} (known: ${listed.join(', ')})`;
}

/** The known name closest to `name` by edit distance (section keys compared by their last part too), if close enough. */
export function nearest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const leaf = k.slice(k.lastIndexOf('.') + 1);
    const d = Math.min(editDistance(name, k), editDistance(name, leaf));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  // Close enough to be a typo: a third of the name's letters at most (at least 1, at most 3).
  return bestDistance <= Math.min(3, Math.max(1, Math.floor(name.length / 3))) ? best : null;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${String(v)} (${typeof v})`;
  return Array.isArray(v) ? 'a list' : 'a mapping';
}

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

// ---- reload -----------------------------------------------------------------------------------

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
    if (SPEC.get(key)?.reloadable) changed.push(key);
    else needRestart.push(`${key} changed: needs a restart; keeping ${before[key]}`);
  }
  return {
    config: { ...running, logs: next.logs, thresholds: { ...next.thresholds } },
    changed,
    needRestart,
  };
}
