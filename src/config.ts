/**
 * `pollscope run` configuration: defaults < config file (YAML or JSON) < command-line flags.
 * Secrets stay out of the file: a string value `${NAME}` (or containing it) is replaced by the
 * environment variable NAME when the file is read (also on SIGHUP reload).
 *
 * The file is read whole; sections this module does not know (e.g. `metrics:`, `otlp:` of the
 * exporters) are kept in `raw` for their owners.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_THRESHOLDS, type Thresholds } from './reactor/model.js';
import { defaultCheckpointPath } from './source/state-dir.js';
import type { LogSpec } from './source/tailer.js';
import { parseRustDuration } from './time.js';

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
  /** The config file as read (unknown sections included), {} without one. */
  raw: Record<string, unknown>;
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
    maxLineBytes: 1 << 20,
    flushPartialAfterMs: null,
    flushRecordAfterMs: 100,
    drainGraceMs: 1000,
    watchdogTickMs: 50,
    thresholds: { ...DEFAULT_THRESHOLDS },
    watch: true,
    auditPath: null,
    raw: {},
  };
}

export class ConfigError extends Error {}

/** `PATH=NAME` → { pattern, relay }; a lone PATH takes `relay` (null = from the file name). */
export function parseLogArg(arg: string, relay: string | null): LogSpec {
  const eq = arg.lastIndexOf('=');
  if (eq > 0 && eq < arg.length - 1) return { pattern: arg.slice(0, eq), relay: arg.slice(eq + 1) };
  return { pattern: arg, relay };
}

/** DURATION: a number with a unit (250ms, 1.5s) or plain milliseconds; returns ns. */
export function parseDurationNs(value: unknown, what: string): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const ns = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1e6 : parseRustDuration(text);
  if (!Number.isFinite(ns) || ns < 0)
    throw new ConfigError(`${what}: '${String(value)}' is not a duration (e.g. 250ms, 1.5s)`);
  return ns;
}

const KNOWN_KEYS = new Set([
  'logs',
  'stdin',
  'from',
  'checkpoint',
  'checkpoint_interval',
  'poll_interval',
  'max_line_bytes',
  'flush_partial_after',
  'thresholds',
  'watch',
]);

/** Reads a config file over `base` (a copy is returned). */
export function loadConfigFile(file: string, base: RunConfig = defaultRunConfig()): RunConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(`${file}: expected a mapping at the top level`);
  const raw = expandEnv(doc, file) as Record<string, unknown>;
  const cfg: RunConfig = { ...base, thresholds: { ...base.thresholds }, raw };
  const at = (k: string) => `${file}: ${k}`;
  if (raw.logs !== undefined) {
    if (!Array.isArray(raw.logs)) throw new ConfigError(`${at('logs')}: expected a list`);
    cfg.logs = raw.logs.map((e, i): LogSpec => {
      if (typeof e === 'string') return parseLogArg(e, null);
      if (e && typeof e === 'object' && typeof (e as { path?: unknown }).path === 'string') {
        const r = (e as { relay?: unknown }).relay;
        return { pattern: (e as { path: string }).path, relay: typeof r === 'string' ? r : null };
      }
      throw new ConfigError(`${at(`logs[${i}]`)}: expected PATH, PATH=NAME or { path, relay }`);
    });
  }
  if (raw.stdin !== undefined)
    cfg.stdin = raw.stdin === false || raw.stdin === null ? null : raw.stdin === true ? 'stdin' : String(raw.stdin);
  if (raw.from !== undefined) {
    if (raw.from !== 'start' && raw.from !== 'end') throw new ConfigError(`${at('from')}: expected start or end`);
    cfg.from = raw.from;
  }
  if (raw.checkpoint !== undefined) cfg.checkpointPath = String(raw.checkpoint);
  if (raw.checkpoint_interval !== undefined)
    cfg.checkpointIntervalMs = parseDurationNs(raw.checkpoint_interval, at('checkpoint_interval')) / 1e6;
  if (raw.poll_interval !== undefined)
    cfg.pollIntervalMs = parseDurationNs(raw.poll_interval, at('poll_interval')) / 1e6;
  if (raw.flush_partial_after !== undefined) {
    cfg.flushPartialAfterMs =
      raw.flush_partial_after === null || raw.flush_partial_after === false
        ? null
        : parseDurationNs(raw.flush_partial_after, at('flush_partial_after')) / 1e6;
  }
  if (raw.max_line_bytes !== undefined) {
    const n = Number(raw.max_line_bytes);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${at('max_line_bytes')}: expected a positive integer`);
    cfg.maxLineBytes = n;
  }
  if (raw.watch !== undefined) cfg.watch = raw.watch !== false;
  if (raw.thresholds !== undefined) {
    const t = raw.thresholds as Record<string, unknown>;
    if (typeof t !== 'object' || t === null) throw new ConfigError(`${at('thresholds')}: expected a mapping`);
    if (t.slow_poll !== undefined) cfg.thresholds.slowPollNs = parseDurationNs(t.slow_poll, at('thresholds.slow_poll'));
    if (t.blocked_poll !== undefined)
      cfg.thresholds.blockedPollNs = parseDurationNs(t.blocked_poll, at('thresholds.blocked_poll'));
    if (t.starved !== undefined) cfg.thresholds.starvedNs = parseDurationNs(t.starved, at('thresholds.starved'));
    if (t.silent !== undefined) cfg.thresholds.silentNs = parseDurationNs(t.silent, at('thresholds.silent'));
  }
  return cfg;
}

/** Whether a key of the file is one `run` itself reads (others belong to exporters). */
export function isRunKey(key: string): boolean {
  return KNOWN_KEYS.has(key);
}

function expandEnv(v: unknown, file: string): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const value = process.env[name];
      if (value === undefined) throw new ConfigError(`${file}: environment variable ${name} is not set`);
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((e) => expandEnv(e, file));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) out[k] = expandEnv(e, file);
    return out;
  }
  return v;
}
