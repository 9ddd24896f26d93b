/**
 * tracing-subscriber's fmt layer, Full and Compact layouts (log-formats.md 3.1): the envelope most
 * relays write, so the one whose per-line cost matters most.
 */
import { ownCopy, type LogRecord } from './record.js';
import { scanIsoTimestamp, scanUptime } from './timestamp.js';
import { clear, isDigit, levelAt, levelLength, skipSpaces } from './envelope-scan.js';
import { internTarget, isModulePath, type Envelope } from './envelopes.js';

/**
 * tracing-subscriber fmt Full and Compact (T1, T1a–d, T2, T5): `{ts }?{LEVEL:>5} {thread name }?
 * {ThreadId(NN) }?{span context: }?{target}: {fields}`. Timestamps: RFC 3339 (Z or offset),
 * chrono local `Apr 21 22:41:09.512`, Uptime `0.123456789s`, or none.
 *
 * Hot path (a busy relay writes this layout): the span context before the target is ~50–190 chars,
 * and a JS loop costs ~2 ns per char it reads, a native indexOf far less. So the scanners below
 * jump from one structure char to the next with indexOf and read single chars only where a
 * decision needs them; they return exactly what a char-by-char scan returns on every input
 * (test/parse/tracing-fmt-fast.test.ts holds that scan as the reference and compares the two).
 */
export const tracingFull: Envelope = {
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
    const head = i;
    hashedAt = -1;
    if (!isThreadIdAt(s, i)) {
      // A context seen before settles the thread name (there is none) and the split at once.
      if (splitKnownContext(s, i, rec)) {
        rec.level = level;
        return true;
      }
      resetStructure();
      const j = threadNameEnd(s, i);
      if (j > i) {
        rec.thread = s.slice(i, j);
        i = skipSpaces(s, j);
      }
    } else resetStructure();
    if (isThreadIdAt(s, i)) {
      let k = i + 9;
      while (s.charCodeAt(k) === 48 && isDigit(s.charCodeAt(k + 1))) k++; // `{:0>2?}` pads inside
      const idStart = k;
      while (isDigit(s.charCodeAt(k))) k++;
      if (s.charCodeAt(k) !== 41 || s.charCodeAt(k + 1) !== 32) return false;
      if (rec.thread === '') rec.thread = s.slice(idStart, k);
      i = k + 2;
    }
    rec.level = level;
    if (i !== head && splitKnownContext(s, i, rec)) return true;
    return splitSpansTarget(s, i, rec, i === head);
  },
};

function isThreadIdAt(s: string, i: number): boolean {
  return s.charCodeAt(i) === 84 /* T */ && s.startsWith('ThreadId(', i);
}

/**
 * Thread name (T1b): a word with no ':' '{' '=' before the next space. Targets and span contexts
 * always end in ':' before their space, so a bare word can only be a name. Returns the index of
 * the space after the name, or -1 when s[i..] does not start with one.
 */
function threadNameEnd(s: string, i: number): number {
  const space = hashedAt === i ? hashedSpace : s.indexOf(' ', i);
  if (space <= i) return -1;
  // The '{' is searched for the split anyway; then nearly every line has a ':' before its first
  // space (`target: `, `span::name: `, `a::b:c: `).
  if (nextOpenBrace < i) nextOpenBrace = find(s, '{', i);
  if (nextOpenBrace < space) return -1;
  const colon = s.indexOf(':', i);
  if (colon >= 0 && colon < space) return -1;
  const eq = s.indexOf('=', i);
  return eq >= 0 && eq < space ? -1 : space;
}

/*
 * Where the structure chars chunkEnd reacts to are in the line being split: each variable holds
 * the index of the char's next occurrence at or after the position it was last searched from, or
 * NONE when there is none. A value below the scan position is stale and searched again, so each
 * char costs one indexOf per occurrence that matters rather than a JS read of every char.
 */
const NONE = 0x3fffffff;
let nextOpenBrace = -1;
let nextOpenParen = -1;
let nextOpenBracket = -1;
let nextCloseBrace = -1;
let nextCloseParen = -1;
let nextCloseBracket = -1;
let nextQuote = -1;
let nextBackslash = -1;
let nextColonSpace = -1;
/** Whether the chunk chunkEnd last returned held none of `{(["` (then it may be a module path). */
let chunkPlain = false;

function resetStructure(): void {
  nextOpenBrace = -1;
  nextOpenParen = -1;
  nextOpenBracket = -1;
  nextCloseBrace = -1;
  nextCloseParen = -1;
  nextCloseBracket = -1;
  nextQuote = -1;
  nextBackslash = -1;
  nextColonSpace = -1;
}

function find(s: string, c: string, i: number): number {
  const k = s.indexOf(c, i);
  return k < 0 ? NONE : k;
}

/**
 * Splits `{span context: }?{target}: {message}` (log-formats.md 3.1): span names and messages
 * contain ':' too, so cut at depth-0 ": " and take as target the first chunk shaped like a
 * module path (`polling::epoll`, `libp2p_swarm`) — unless the chunk after it is a known crate's
 * target, in which case the first was a field-less span (`wait: polling::epoll: …`).
 */
function splitSpansTarget(s: string, i: number, rec: LogRecord, probedNoName: boolean): boolean {
  let chunkStart = i;
  for (let n = 0; n < 4; n++) {
    const end = chunkEnd(s, chunkStart);
    if (end < 0) return false;
    // A chunk holding a bracket or quote is no module path; a plain one is, if it is a target
    // seen before (compared natively) or passes the char-by-char check.
    let target = chunkPlain ? knownTarget(s, chunkStart, end) : '';
    if (target !== '' || (chunkPlain && isModulePath(s, chunkStart, end))) {
      const next = end + 2;
      const nextEnd = n < 3 ? moduleChunkEnd(s, next) : -1;
      if (!(nextEnd > 0 && isKnownCrate(s, next, nextEnd))) {
        rec.spans = chunkStart === i ? '' : s.slice(i, chunkStart - 2);
        if (target === '') target = rememberTarget(internTarget(s, chunkStart, end));
        rec.target = target;
        rec.message = s.slice(end + 2);
        rememberContext(s, i, chunkStart, end, n, target, probedNoName);
        return true;
      }
    }
    chunkStart = end + 2;
  }
  return false;
}

/**
 * Index of the next depth-0 ": " (or ':' at end of line) from i, or -1. Tracks {}()[] (one depth
 * for all three, a closer at depth 0 ignored) and quotes (`\\` escapes the next char): the same
 * answer as reading every char, found by jumping between the structure chars. Sets chunkPlain.
 */
function chunkEnd(s: string, i: number): number {
  const n = s.length;
  let depth = 0;
  chunkPlain = true;
  for (;;) {
    if (nextOpenBrace < i) nextOpenBrace = find(s, '{', i);
    if (nextOpenParen < i) nextOpenParen = find(s, '(', i);
    if (nextOpenBracket < i) nextOpenBracket = find(s, '[', i);
    if (nextQuote < i) nextQuote = find(s, '"', i);
    let open = nextOpenBrace < nextOpenParen ? nextOpenBrace : nextOpenParen;
    if (nextOpenBracket < open) open = nextOpenBracket;
    if (nextQuote < open) open = nextQuote;
    if (depth === 0) {
      if (nextColonSpace < i) {
        nextColonSpace = find(s, ': ', i);
        // A ':' ending the line ends a chunk too (a field-less event's target).
        if (nextColonSpace === NONE && n - 1 >= i && s.charCodeAt(n - 1) === 58) nextColonSpace = n - 1;
      }
      if (nextColonSpace < open) return nextColonSpace;
      if (open === NONE) return -1;
    } else {
      if (nextCloseBrace < i) nextCloseBrace = find(s, '}', i);
      if (nextCloseParen < i) nextCloseParen = find(s, ')', i);
      if (nextCloseBracket < i) nextCloseBracket = find(s, ']', i);
      let close = nextCloseBrace < nextCloseParen ? nextCloseBrace : nextCloseParen;
      if (nextCloseBracket < close) close = nextCloseBracket;
      if (close < open) {
        depth--;
        i = close + 1;
        continue;
      }
      // Brackets left open to the end of the line: no depth-0 ": " can follow.
      if (open === NONE) return -1;
    }
    chunkPlain = false;
    if (open === nextQuote) {
      i = afterQuote(s, open);
      if (i < 0) return -1;
    } else {
      depth++;
      i = open + 1;
    }
  }
}

/** Index after the quote that closes the one at s[q] (a backslash escapes the next char), or -1. */
function afterQuote(s: string, q: number): number {
  const close = s.indexOf('"', q + 1);
  if (close < 0) return -1;
  if (nextBackslash <= q) nextBackslash = find(s, '\\', q + 1);
  if (nextBackslash > close) return close + 1;
  const n = s.length;
  let k = q + 1;
  for (; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c === 92) k++;
    else if (c === 34) break;
  }
  return k >= n ? -1 : k + 1;
}

/*
 * Targets this layout took recently (as internTarget returned them): a chunk equal to one is a
 * module path without reading its chars, and is the target string itself.
 */
const RECENT_TRACING_TARGETS = 32;
const tracingTargets: string[] = [];
let tracingTargetNext = 0;

function knownTarget(s: string, a: number, b: number): string {
  const len = b - a;
  for (let k = 0; k < tracingTargets.length; k++) {
    const t = tracingTargets[k];
    if (t.length === len && s.slice(a, b) === t) return t;
  }
  return '';
}

function rememberTarget(t: string): string {
  if (tracingTargets.length < RECENT_TRACING_TARGETS) tracingTargets.push(t);
  else {
    tracingTargets[tracingTargetNext] = t;
    tracingTargetNext = (tracingTargetNext + 1) % RECENT_TRACING_TARGETS;
  }
  return t;
}

/*
 * Contexts seen before. A context is the text from where the span context starts to the end of
 * the target, `new_established_connection{remote_addr=… id=2 peer=…}:Connection::poll: libp2p_swarm`:
 * a relay writes a few thousand distinct ones, each many times. When a line holds a known context
 * followed by ": ", the split of its chars is the one found for that context the first time —
 * chunkEnd, isModulePath, moduleChunkEnd and isKnownCrate read nothing past that ": " there — except
 * whether the message's first word is a known crate's target, which is checked again. One string
 * comparison (memcmp) then replaces reading the ~50–190 chars.
 *
 * Contexts are found by a hash of where the first space is and the three chars before it (the
 * space after a field-less context, or one inside the first span's fields, which tells connections
 * apart), CONTEXT_WAYS per hash: the way that matched last is tried first, and a new context
 * replaces the ways in turn. Nothing is moved (storing a string into these old arrays costs a
 * write barrier). Only contexts where the thread-name probe finds no name are kept, so a hit at
 * the start of the line also settles that there is none. The texts are flat copies: a slice would
 * keep the line's whole chunk string alive. At most CONTEXT_HASHES * CONTEXT_WAYS contexts of at
 * most CONTEXT_MAX_CHARS chars are kept (~1.5 MB for a libp2p relay's ~180-char contexts, 4 MB at
 * worst); a longer one is split anew each time.
 */
const CONTEXT_HASHES = 1024;
const CONTEXT_WAYS = 8;
const CONTEXT_MAX_CHARS = 512;
/** Context texts ('' for an empty slot), CONTEXT_WAYS per hash. */
const contextText: string[] = new Array<string>(CONTEXT_HASHES * CONTEXT_WAYS).fill('');
/** Length of each context text (0 for an empty slot): read before the text itself. */
const contextLength = new Int32Array(CONTEXT_HASHES * CONTEXT_WAYS);
/** Target of each context (as internTarget returned it). */
const contextTarget: string[] = new Array<string>(CONTEXT_HASHES * CONTEXT_WAYS).fill('');
/**
 * The span context at the start of each context text ('' for none), cut from the text: a hit hands
 * out the same string object each time (no slice per line, and its hash is computed once downstream).
 */
const contextSpans: string[] = new Array<string>(CONTEXT_HASHES * CONTEXT_WAYS).fill('');
/**
 * A number for each remembered context, never given twice (LogRecord.spansId): a new context in
 * a slot gets a new one, so equal numbers mean equal spans strings.
 */
const contextSerial = new Float64Array(CONTEXT_HASHES * CONTEXT_WAYS).fill(-1);
let lastSerial = -1;
/** Whether the message after the context may have to be checked for a known crate (target was chunk 0–2). */
const contextCheckMessage = new Uint8Array(CONTEXT_HASHES * CONTEXT_WAYS);
/** Per hash: the way that matched last, and the way the next new context replaces. */
const lastWay = new Uint8Array(CONTEXT_HASHES);
const nextWay = new Uint8Array(CONTEXT_HASHES);

/** Forgets every remembered context (tests and benchmarks that want a parser as fresh as at start). */
export function forgetContexts(): void {
  contextText.fill('');
  contextLength.fill(0);
  contextTarget.fill('');
  contextSpans.fill('');
  contextSerial.fill(-1);
  contextCheckMessage.fill(0);
  lastWay.fill(0);
  nextWay.fill(0);
}

/*
 * The last contextHash of the line being parsed (hashedAt is reset per line): the thread-name
 * probe and rememberContext reuse the first space and the hash the lookup found.
 */
let hashedAt = -1;
let hashedSpace = -1;
let hashedValue = -1;

function contextHash(s: string, i: number): number {
  if (hashedAt === i) return hashedValue;
  const space = s.indexOf(' ', i);
  hashedAt = i;
  hashedSpace = space;
  // NaN (a char before the line) hashes as 0: it only costs a miss.
  hashedValue =
    space < 0
      ? -1
      : ((space - i) * 131 + s.charCodeAt(space - 1) * 17 + s.charCodeAt(space - 2) * 3 + s.charCodeAt(space - 3)) &
        (CONTEXT_HASHES - 1);
  return hashedValue;
}

/** If s[i..] holds a known context followed by ": ", fills spans, target and message and returns true. */
function splitKnownContext(s: string, i: number, rec: LogRecord): boolean {
  const h = contextHash(s, i);
  if (h < 0) return false;
  const base = h * CONTEXT_WAYS;
  const first = lastWay[h];
  for (let k = 0; k < CONTEXT_WAYS; k++) {
    const way = (first + k) & (CONTEXT_WAYS - 1);
    const w = base + way;
    const length = contextLength[w];
    if (length === 0) continue;
    const end = i + length;
    // slice + === compares with memcmp; startsWith reads a match char by char (~3 ns each).
    if (s.charCodeAt(end) !== 58 || s.charCodeAt(end + 1) !== 32 || s.slice(i, end) !== contextText[w]) continue;
    const message = end + 2;
    if (contextCheckMessage[w] === 1 && startsLikeKnownCrate(s, message)) {
      const wordEnd = moduleChunkEnd(s, message);
      if (wordEnd > 0 && isKnownCrate(s, message, wordEnd)) return false;
    }
    rec.spans = contextSpans[w];
    rec.spansId = contextSerial[w];
    rec.target = contextTarget[w];
    rec.message = s.slice(message);
    lastWay[h] = way;
    return true;
  }
  return false;
}

/**
 * Keeps the context s[i..end) that splitSpansTarget just split (target chunk n from targetStart),
 * when the line goes on with ": " after it and the thread-name probe finds no name in it (known
 * when the probe just ran at i).
 */
function rememberContext(
  s: string,
  i: number,
  targetStart: number,
  end: number,
  n: number,
  target: string,
  probedNoName: boolean,
): void {
  if (end - i > CONTEXT_MAX_CHARS || s.charCodeAt(end + 1) !== 32) return;
  if (!probedNoName && threadNameProbe(s, i) >= 0) return;
  const h = contextHash(s, i);
  if (h < 0) return;
  const way = nextWay[h];
  nextWay[h] = (way + 1) & (CONTEXT_WAYS - 1);
  lastWay[h] = way;
  const w = h * CONTEXT_WAYS + way;
  const text = ownCopy(s.slice(i, end));
  contextText[w] = text;
  contextLength[w] = end - i;
  contextTarget[w] = target;
  contextSpans[w] = targetStart === i ? '' : text.slice(0, targetStart - 2 - i);
  contextSerial[w] = ++lastSerial;
  contextCheckMessage[w] = n < 3 ? 1 : 0;
}

/** The thread-name probe read char by char: index of the space ending a name at s[i], or -1. */
function threadNameProbe(s: string, i: number): number {
  let j = i;
  for (;;) {
    const c = s.charCodeAt(j);
    if (c === 32 || c === 58 || c === 123 || c === 61 || Number.isNaN(c)) break;
    j++;
  }
  return s.charCodeAt(j) === 32 && j > i ? j : -1;
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

/** Bit (c - 'a') set for the first letter c of each known crate. */
const CRATE_INITIALS = KNOWN_CRATES.reduce((bits, c) => bits | (1 << (c.charCodeAt(0) - 97)), 0);

/** False when s[a] is no known crate's first letter (most messages): isKnownCrate would be false. */
function startsLikeKnownCrate(s: string, a: number): boolean {
  const c = s.charCodeAt(a) - 97;
  return c >= 0 && c < 26 && ((CRATE_INITIALS >> c) & 1) === 1;
}

function isKnownCrate(s: string, a: number, b: number): boolean {
  for (const c of KNOWN_CRATES) {
    if (s.startsWith(c, a)) {
      const after = s.charCodeAt(a + c.length);
      if (a + c.length === b || after === 58 || after === 95) return true;
    }
  }
  return false;
}
