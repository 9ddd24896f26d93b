/**
 * Line envelopes: the layouts loggers wrap messages in (log-formats.md section 3). Each parser
 * scans one line by char code and fills a LogRecord; it returns false when the line is not in
 * its layout. No regex runs per line.
 */
import type { Level, LogRecord } from './record.js';
import { PartialTimeContext, scanIsoTimestamp, scanUptime } from './timestamp.js';
import { clear, isDigit, levelAt, levelLength, skipSpaces } from './envelope-scan.js';
import { tracingJson } from './envelope-json.js';

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
    if (t.length === len && s.startsWith(t, a)) return t;
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

/**
 * tracing-subscriber fmt Full and Compact (T1, T1a–d, T2, T5): `{ts }?{LEVEL:>5} {thread name }?
 * {ThreadId(NN) }?{span context: }?{target}: {fields}`. Timestamps: RFC 3339 (Z or offset),
 * chrono local `Apr 21 22:41:09.512`, Uptime `0.123456789s`, or none.
 */
const tracingFull: Envelope = {
  id: 'tracing_fmt',
  description:
    'tracing-subscriber fmt Full/Compact `2024-03-05T17:02:11.408233Z TRACE ThreadId(07) span{..}: target: msg k=v`',
  parse(s, rec, ctx) {
    clear(rec);
    let i = 0;
    const c0 = s.charCodeAt(0);
    if (isDigit(c0)) {
      i = s.charCodeAt(4) === 45 ? scanIsoTimestamp(s, 0, rec) : scanUptime(s, 0, rec);
    } else if (c0 >= 65 && c0 <= 90 && s.charCodeAt(1) >= 97 && s.charCodeAt(3) === 32) {
      i = ctx.scanChronoLocal(s, 0, rec);
    } else if (c0 === 32 && isDigit(s.charCodeAt(skipSpaces(s, 0)))) {
      i = scanUptime(s, 0, rec);
    }
    if (i < 0) return false;
    i = skipSpaces(s, i);
    const level = levelAt(s, i);
    if (level === undefined) return false;
    i += levelLength(level);
    if (s.charCodeAt(i) !== 32) return false;
    i = skipSpaces(s, i);
    // Thread name (T1b): a word with no ':' '{' '=' before the next space. Targets and span
    // contexts always end in ':' before their space, so a bare word can only be a name.
    let j = i;
    for (;;) {
      const c = s.charCodeAt(j);
      if (c === 32 || c === 58 || c === 123 || c === 61 || Number.isNaN(c)) break;
      j++;
    }
    if (s.charCodeAt(j) === 32 && j > i && !s.startsWith('ThreadId(', i)) {
      rec.thread = s.slice(i, j);
      i = skipSpaces(s, j);
    }
    if (s.startsWith('ThreadId(', i)) {
      let k = i + 9;
      while (s.charCodeAt(k) === 48 && isDigit(s.charCodeAt(k + 1))) k++; // `{:0>2?}` pads inside
      const idStart = k;
      while (isDigit(s.charCodeAt(k))) k++;
      if (s.charCodeAt(k) !== 41 || s.charCodeAt(k + 1) !== 32) return false;
      if (rec.thread === '') rec.thread = s.slice(idStart, k);
      i = k + 2;
    }
    rec.level = level;
    return splitSpansTarget(s, i, rec);
  },
};

/**
 * Splits `{span context: }?{target}: {message}` (log-formats.md 3.1): span names and messages
 * contain ':' too, so cut at depth-0 ": " and take as target the first chunk shaped like a
 * module path (`polling::epoll`, `libp2p_swarm`) — unless the chunk after it is a known crate's
 * target, in which case the first was a field-less span (`wait: polling::epoll: …`).
 */
function splitSpansTarget(s: string, i: number, rec: LogRecord): boolean {
  let chunkStart = i;
  for (let n = 0; n < 4; n++) {
    const end = chunkEnd(s, chunkStart);
    if (end < 0) return false;
    if (isModulePath(s, chunkStart, end)) {
      const next = end + 2;
      const nextEnd = n < 3 ? moduleChunkEnd(s, next) : -1;
      if (!(nextEnd > 0 && isKnownCrate(s, next, nextEnd))) {
        rec.spans = chunkStart === i ? '' : s.slice(i, chunkStart - 2);
        rec.target = internTarget(s, chunkStart, end);
        rec.message = s.slice(end + 2);
        return true;
      }
    }
    chunkStart = end + 2;
  }
  return false;
}

/** Index of the next depth-0 ": " (or ':' at end of line) from i, or -1. Tracks {}()[] and quotes. */
function chunkEnd(s: string, i: number): number {
  let depth = 0;
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 58 /* : */) {
      if (depth === 0 && (i + 1 === n || s.charCodeAt(i + 1) === 32)) return i;
    } else if (c === 123 || c === 40 || c === 91) depth++;
    else if (c === 125 || c === 41 || c === 93) {
      if (depth > 0) depth--;
    } else if (c === 34 /* " */) {
      for (i++; i < n; i++) {
        const q = s.charCodeAt(i);
        if (q === 92) i++;
        else if (q === 34) break;
      }
    }
  }
  return -1;
}

/** If s[i..] starts with a module-path-shaped word followed by ": ", the index of that ':'; else -1. */
function moduleChunkEnd(s: string, i: number): number {
  let j = i;
  for (;;) {
    const c = s.charCodeAt(j);
    if (c === 58) {
      if (s.charCodeAt(j + 1) === 58) {
        j += 2;
        continue;
      }
      return j > i && s.charCodeAt(j + 1) === 32 ? j : -1;
    }
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) return -1;
    j++;
  }
}

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

/** Crates whose targets pollscope knows: a chunk naming one is a target, not a span. */
const KNOWN_CRATES = [
  'polling',
  'async_io',
  'async_std',
  'libp2p',
  'mio',
  'tokio',
  'yamux',
  'multistream_select',
  'netlink_proto',
  'hyper',
  'tracing',
];

function isKnownCrate(s: string, a: number, b: number): boolean {
  for (const c of KNOWN_CRATES) {
    if (s.startsWith(c, a)) {
      const after = s.charCodeAt(a + c.length);
      if (a + c.length === b || after === 58 || after === 95) return true;
    }
  }
  return false;
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
