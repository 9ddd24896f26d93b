/**
 * Line envelopes: the layouts loggers wrap messages in (log-formats.md section 3). Each parser
 * scans one line by char code and fills a LogRecord; it returns false when the line is not in
 * its layout. No regex runs per line.
 */
import type { Level, LogRecord } from './record.js';
import { PartialTimeContext, scanIsoTimestamp } from './timestamp.js';
import { clear, isDigit, levelAt, levelLength, skipSpaces } from './envelope-scan.js';
import { tracingJson } from './envelope-json.js';
import { tracingFull } from './envelope-tracing-fmt.js';

export interface Envelope {
  /** Stable id for reports and --json. */
  readonly id: string;
  /** What it reads, in the doc's terms (shown when a file matches nothing). */
  readonly description: string;
  parse(line: string, rec: LogRecord, ctx: PartialTimeContext): boolean;
}

/**
 * Recent distinct targets. A log has a few dozen targets, and returning the same string object
 * for the same target spares every later stage a fresh string to hash (the per-target Map
 * lookups) and keeps no slice of a chunk string alive.
 */
const RECENT_TARGETS = 32;
const recentTargets: string[] = [];
let recentNext = 0;

export function internTarget(s: string, a: number, b: number): string {
  const len = b - a;
  for (let k = 0; k < recentTargets.length; k++) {
    const t = recentTargets[k];
    // indexOf at the position, not startsWith: on Node 20 startsWith costs ~3 ns a char on a match
    if (t.length === len && s.indexOf(t, a) === a) return t;
  }
  const t = Buffer.from(s.slice(a, b), 'utf8').toString('utf8');
  if (recentTargets.length < RECENT_TARGETS) recentTargets.push(t);
  else {
    recentTargets[recentNext] = t;
    recentNext = (recentNext + 1) % RECENT_TARGETS;
  }
  return t;
}

/**
 * env_logger's bracket header, all versions from 0.6 on (E1–E4, L1) and the winksaville fork's
 * custom one with source line and thread id (E7): `[{ts }?{LEVEL} {target}( {line} {tid})?] {msg}`.
 */
const envLoggerBracket: Envelope = {
  id: 'env_logger',
  description:
    'env_logger 0.6+ `[2022-04-21T22:35:27.437652Z TRACE target] msg` (any precision or none; fork `[ts LEVEL module line tid]`)',
  parse(s, rec) {
    if (s.charCodeAt(0) !== 91 /* [ */) return false;
    clear(rec);
    let i = 1;
    if (isDigit(s.charCodeAt(1))) {
      i = scanIsoTimestamp(s, 1, rec);
      if (i < 0 || s.charCodeAt(i) !== 32) return false;
      i++;
    }
    const level = levelAt(s, i);
    if (level === undefined) return false;
    i += levelLength(level);
    if (s.charCodeAt(i) !== 32) return false;
    i = skipSpaces(s, i);
    const close = s.indexOf(']', i);
    if (close < 0) return false;
    let space = s.indexOf(' ', i);
    if (space < 0 || space > close) space = close;
    if (space === i) return false;
    rec.level = level;
    rec.target = internTarget(s, i, space);
    if (space < close) {
      // E7: ` {line} {tid:>2}]`
      let j = skipSpaces(s, space + 1);
      const lineStart = j;
      while (isDigit(s.charCodeAt(j))) j++;
      if (j === lineStart || s.charCodeAt(j) !== 32) return false;
      j = skipSpaces(s, j);
      const tidStart = j;
      while (isDigit(s.charCodeAt(j))) j++;
      if (j === tidStart || j !== close) return false;
      rec.thread = s.slice(tidStart, j);
    }
    let m = close + 1;
    if (s.charCodeAt(m) === 32) m++;
    rec.message = m >= s.length ? '' : s.slice(m);
    return true;
  },
};

/** env_logger 0.5 (E5): `{LEVEL:>5} {ts}: {module_path}: {msg}`. */
const envLogger05: Envelope = {
  id: 'env_logger_0.5',
  description: 'env_logger 0.5 ` INFO 2018-09-12T14:03:51Z: module: msg`',
  parse(s, rec) {
    clear(rec);
    let i = s.charCodeAt(0) === 32 ? 1 : 0;
    const level = levelAt(s, i);
    if (level === undefined) return false;
    i += levelLength(level);
    if (s.charCodeAt(i) !== 32 || !isDigit(s.charCodeAt(i + 1))) return false;
    i = scanIsoTimestamp(s, i + 1, rec);
    if (i < 0 || s.charCodeAt(i) !== 58 || s.charCodeAt(i + 1) !== 32) return false;
    return modulePathMessage(s, i + 2, level, rec);
  },
};

/** env_logger ≤0.4 (E6): `{LEVEL}:{module_path}: {msg}`. */
const envLogger04: Envelope = {
  id: 'env_logger_0.4',
  description: 'env_logger 0.4 `TRACE:module: msg`',
  parse(s, rec) {
    const level = levelAt(s, 0);
    if (level === undefined) return false;
    const t = levelLength(level);
    if (s.charCodeAt(t) !== 58) return false;
    clear(rec);
    return modulePathMessage(s, t + 1, level, rec);
  },
};

/** `{module_path}: {msg}` from s[t] (env_logger ≤0.5). */
function modulePathMessage(s: string, t: number, level: Level, rec: LogRecord): boolean {
  const end = s.indexOf(': ', t);
  if (end <= t || !isModulePath(s, t, end)) return false;
  rec.level = level;
  rec.target = internTarget(s, t, end);
  rec.message = s.slice(end + 2);
  return true;
}

/** pretty_env_logger (E8 timed, E9 untimed): ` {ts_ms}Z? {LEVEL:5} {target:<w} > {msg}`. */
const prettyEnvLogger: Envelope = {
  id: 'pretty_env_logger',
  description: 'pretty_env_logger ` 2021-06-02T11:40:07.315Z TRACE target > msg` (timed or not)',
  parse(s, rec) {
    if (s.charCodeAt(0) !== 32) return false;
    clear(rec);
    let i = 1;
    if (isDigit(s.charCodeAt(1))) {
      i = scanIsoTimestamp(s, 1, rec);
      if (i < 0 || s.charCodeAt(i) !== 32) return false;
      i++;
    }
    const level = levelAt(s, i);
    if (level === undefined) return false;
    i = skipSpaces(s, i + levelLength(level));
    return targetArrowMessage(s, i, level, rec);
  },
};

/** ` {target:<w} > {msg}` from s[i]. */
function targetArrowMessage(s: string, i: number, level: Level, rec: LogRecord): boolean {
  let j = i;
  for (;;) {
    const c = s.charCodeAt(j);
    if (c === 32 || Number.isNaN(c)) break;
    j++;
  }
  if (j === i) return false;
  const k = skipSpaces(s, j);
  if (s.charCodeAt(k) !== 62 /* > */ || (s.charCodeAt(k + 1) !== 32 && k + 1 < s.length)) return false;
  rec.level = level;
  rec.target = internTarget(s, i, j);
  rec.message = k + 2 >= s.length ? '' : s.slice(k + 2);
  return true;
}

/** wezterm's logger (E10): `{HH:MM:SS.mmm}  {LEVEL}  {target:<w} > {msg}`; no date in the line. */
const wezterm: Envelope = {
  id: 'wezterm',
  description: 'wezterm `19:44:42.662  TRACE  target > msg` (time of day only)',
  parse(s, rec, ctx) {
    if (!isDigit(s.charCodeAt(0)) || s.charCodeAt(2) !== 58) return false;
    clear(rec);
    let i = ctx.scanTimeOfDay(s, 0, rec);
    if (i < 0 || s.charCodeAt(i) !== 32) return false;
    i = skipSpaces(s, i);
    const level = levelAt(s, i);
    if (level === undefined) return false;
    i = skipSpaces(s, i + levelLength(level));
    return targetArrowMessage(s, i, level, rec);
  },
};

/** `[a-z_][a-z0-9_]*(::[a-z_][a-z0-9_]*)*` on s[a..b). */
export function isModulePath(s: string, a: number, b: number): boolean {
  if (b <= a) return false;
  let segStart = true;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) {
      if (segStart || s.charCodeAt(i + 1) !== 58 || i + 2 >= b) return false;
      i++;
      segStart = true;
      continue;
    }
    if ((c >= 97 && c <= 122) || c === 95 || (!segStart && c >= 48 && c <= 57)) {
      segStart = false;
      continue;
    }
    return false;
  }
  return true;
}

/**
 * All envelopes, in fallback order: the most specific first, tracing's Full layout last since it
 * accepts the most.
 */
export const ENVELOPES: readonly Envelope[] = [
  envLoggerBracket,
  tracingJson,
  prettyEnvLogger,
  wezterm,
  envLogger05,
  envLogger04,
  tracingFull,
];
