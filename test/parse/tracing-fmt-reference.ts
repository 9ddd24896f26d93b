/**
 * The tracing-subscriber fmt Full/Compact parser as it was before the speed round (session 3),
 * kept verbatim as the reference the fast parser in src/parse/envelopes.ts must agree with
 * (test/parse/tracing-fmt-fast.test.ts). It reads every char of the span context in JS.
 */
import type { LogRecord } from '../../src/parse/record.js';
import { scanIsoTimestamp, scanUptime } from '../../src/parse/timestamp.js';
import { clear, isDigit, levelAt, levelLength, skipSpaces } from '../../src/parse/envelope-scan.js';
import { internTarget, type Envelope } from '../../src/parse/envelopes.js';

/**
 * tracing-subscriber fmt Full and Compact (T1, T1a–d, T2, T5): `{ts }?{LEVEL:>5} {thread name }?
 * {ThreadId(NN) }?{span context: }?{target}: {fields}`. Timestamps: RFC 3339 (Z or offset),
 * chrono local `Apr 21 22:41:09.512`, Uptime `0.123456789s`, or none.
 */
export const tracingFullReference: Envelope = {
  id: 'tracing_fmt_reference',
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
function isModulePath(s: string, a: number, b: number): boolean {
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
