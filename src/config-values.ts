/**
 * One configuration value to its type (durations, numbers, paths, URLs, dates, log lists), with
 * the error that names where it came from and what is expected; and the "did you mean" of
 * unknown keys and flags. src/config.ts decides which key has which kind.
 */
import { accessSync, constants } from 'node:fs';
import { parseListen } from './export/metrics-listen.js';
import { describeFsError } from './source/fs-errors.js';
import type { LogSpec } from './source/tailer.js';
import { parseDuration } from './time.js';
import { ConfigError } from './config-error.js';

export { ConfigError };

export type Kind =
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

/** One setting as given, and where: `--blocked-poll`, `relay.yaml: thresholds.silent`, `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export interface Given {
  value: unknown;
  origin: string;
  layer: 'file' | 'env' | 'flag';
}

const DURATION_HINT = 'a duration (e.g. 250ms, 1.5s, 800us; a plain number is milliseconds)';

/** One value to its type; the error names where it came from and what is expected. */
export function convert(kind: Kind, g: Given): unknown {
  const v = g.value;
  const fail = (expected: string): never => {
    throw new ConfigError(`${g.origin}: ${describeValue(v)} is not ${expected}`, g.layer === 'flag');
  };
  switch (kind) {
    case 'duration':
      return toDuration(g, fail);
    case 'durationOrOff':
      return v === null || v === false || v === 'off' ? null : toDuration(g, fail);
    case 'positiveInt': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
      return Number.isSafeInteger(n) && n >= 1 ? n : fail('a whole number greater than 0');
    }
    case 'positiveNumber': {
      const n = toNumber(v);
      return n > 0 && Number.isFinite(n) ? n : fail('a number greater than 0');
    }
    case 'fraction': {
      const n = toNumber(v);
      return n >= 0 && n <= 1 ? n : fail('a fraction between 0 and 1');
    }
    case 'boolean':
      return typeof v === 'boolean' ? v : fail('true or false');
    case 'from':
      return v === 'start' || v === 'end' ? v : fail('start or end');
    case 'path':
    case 'relay':
      return typeof v === 'string' && v !== '' ? v : fail(kind === 'path' ? 'a file path' : 'a name');
    case 'readablePath':
      return toReadablePath(g, fail);
    case 'url':
      return toUrl(v, fail);
    case 'listen':
      if (v === 'off' || v === false) return null;
      try {
        if (typeof v === 'string' || typeof v === 'number') return parseListen(String(v));
      } catch {
        // said below
      }
      return fail("HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464) or 'off'");
    case 'date':
      return parseDate(v, fail);
    case 'stdin':
      // true: read stdin as relay 'stdin'; a string: as that relay; false/null: not read.
      if (v === false || v === null) return null;
      if (v === true) return 'stdin';
      return typeof v === 'string' && v !== '' ? v : fail('true, false or a relay name');
    case 'logs':
      return toLogs(g, fail);
  }
}

type Fail = (expected: string) => never;

function toDuration(g: Given, fail: Fail): number {
  const v = g.value;
  const ns = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : NaN;
  if (Number.isNaN(ns)) fail(DURATION_HINT);
  if (!(ns > 0) || !Number.isFinite(ns))
    throw new ConfigError(
      `${g.origin}: ${describeValue(v)}: a duration must be greater than 0 (e.g. 250ms, 1.5s)`,
      g.layer === 'flag',
    );
  return ns;
}

function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
}

function toReadablePath(g: Given, fail: Fail): string {
  if (typeof g.value !== 'string' || g.value === '') return fail('a file path');
  try {
    accessSync(g.value, constants.R_OK);
  } catch (err) {
    throw new ConfigError(`${g.origin}: ${g.value}: ${describeFsError(err)}`, g.layer === 'flag');
  }
  return g.value;
}

function toUrl(v: unknown, fail: Fail): string {
  let url: URL | null = null;
  try {
    if (typeof v === 'string') url = new URL(v);
  } catch {
    // said below
  }
  if (url === null) return fail('a URL such as http://127.0.0.1:4318');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('an http:// or https:// URL');
  return v as string;
}

function toLogs(g: Given, fail: Fail): LogSpec[] {
  if (!Array.isArray(g.value)) return fail('a list of PATH, PATH=NAME or { path, relay }');
  return (g.value as unknown[]).map((e, i): LogSpec => {
    if (typeof e === 'string' && e !== '') return parseLogArg(e, null);
    if (isMapping(e)) {
      const extra = Object.keys(e).filter((k) => k !== 'path' && k !== 'relay');
      if (extra.length > 0) throw new ConfigError(`${g.origin}[${i}]: ${unknownKey(extra[0], ['path', 'relay'])}`);
      const relay = e.relay ?? null;
      const relayOk = relay === null || (typeof relay === 'string' && relay !== '');
      if (typeof e.path === 'string' && e.path !== '' && relayOk) return { pattern: e.path, relay: relay };
    }
    throw new ConfigError(
      `${g.origin}[${i}]: ${describeValue(e)} is not PATH, PATH=NAME or { path, relay }`,
      g.layer === 'flag',
    );
  });
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

export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${String(v)} (${typeof v})`;
  return Array.isArray(v) ? 'a list' : 'a mapping';
}
