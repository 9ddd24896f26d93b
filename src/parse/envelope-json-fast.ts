/**
 * Fast path of the tracing-subscriber JSON envelope. tracing-subscriber's JSON formatter
 * (fmt/format/json.rs) writes one compact object per line, its keys in a fixed order:
 *
 *   {"timestamp":"…","level":"DEBUG","fields":{"message":"…","k":"v",…},"target":"…",
 *    "filename":"…","line_number":N,"span":{…,"name":"…"},"spans":[{…}],"threadName":"…","threadId":"…"}
 *
 * JSON.parse builds objects and property maps for every line (~2 µs a line). Here the head
 * (timestamp, level, fields) is read in place, and the tail (from `,"target"` to the end: target,
 * span context, thread) is looked up in a cache of tails already seen (a relay logs the same span
 * contexts over and over) or else read in place too.
 *
 * On Node 20 indexOf and === compare like memchr/memcmp, while startsWith (~4 ns a char) and
 * endsWith (~1 ns) go char by char: literals are matched with `indexOf(lit, i) === i`, tails with
 * `===`.
 *
 * The fast path either gives exactly the record parseTracingJsonSlow gives, or returns false and
 * leaves the line to it: on an escape, a control character, a key it does not expect, a nested
 * or duplicate field, whitespace, anything that is not the compact shape above.
 */
import { newRecord, ownCopy, type Level, type LogRecord } from './record.js';
import { clear, isDigit, levelFieldsAfter, levelFieldsAt, levelLength, threadIdText } from './envelope-scan.js';
import { scanIsoTimestamp, scanUptime, type PartialTimeContext } from './timestamp.js';
import {
  backslashBefore,
  flatCopyOf,
  lineStarts,
  literalEnd,
  literalText,
  plainText,
  stringAt,
  stringToken,
} from './json-tokens.js';

const C_QUOTE = 34,
  C_COMMA = 44,
  C_MINUS = 45,
  C_DOT = 46,
  C_COLON = 58,
  C_UPPER_Z = 90,
  C_OPEN_BRACKET = 91,
  C_CLOSE_BRACKET = 93,
  C_LOWER_T = 116,
  C_OPEN_BRACE = 123,
  C_CLOSE_BRACE = 125;

/** Reads a compact tracing JSON line into rec; false when the line needs the JSON.parse path. */
export function parseTracingJsonFast(s: string, rec: LogRecord, ctx: PartialTimeContext): boolean {
  if (s.charCodeAt(0) !== C_OPEN_BRACE) return false;
  lineStarts();
  let i: number;
  let tsEnd = -1;
  let timeRead = false;
  let level: Level | undefined;
  if (s.charCodeAt(2) === C_LOWER_T) {
    // Within the second of the line before (thousands of lines a second at µs precision): one
    // native compare for `{"timestamp":"` and the date, then the fraction.
    if (tsHead !== '' && s.charCodeAt(32) === tsHeadLast && s.indexOf(tsHead, 0) === 0) timeRead = secondFraction(s);
    if (timeRead) tsEnd = fractionEnd + 1;
    else {
      if (s.indexOf('"timestamp":"', 1) !== 1) return false;
      // The first `","level":"` ends the timestamp; a `"` inside it fails the scan below.
      tsEnd = s.indexOf('","level":"', 14);
      if (tsEnd < 0) return false;
    }
    level = levelFieldsAfter(s, tsEnd);
    i = tsEnd + 11;
  } else {
    if (s.indexOf('"level":"', 1) !== 1) return false;
    i = 10;
    level = levelFieldsAt(s, i);
  }
  if (level === undefined) return false;
  i += levelLength(level) + 12;
  objectMain = objectRest = '';
  i = s.charCodeAt(i) === C_CLOSE_BRACE ? i + 1 : scanObject(s, i, false);
  if (i < 0) return false;
  const message = objectMain === '' ? objectRest : objectRest === '' ? objectMain : objectMain + ' ' + objectRest;
  const tail = tailAt(s, i);
  if (tail === undefined) return false;
  // Nothing is written to rec before the line is known good: JSON.parse may yet reject it.
  if (tsEnd >= 0 && !timeRead && !scanTimestamp(s, tsEnd, ctx)) return false;
  clear(rec);
  if (tsEnd >= 0) {
    rec.sec = ts.sec;
    rec.nsec = ts.nsec;
    rec.digits = ts.digits;
    rec.hasTime = true;
  }
  rec.level = level;
  rec.target = tail.target;
  rec.message = message;
  rec.spans = tail.spans;
  rec.thread = tail.thread;
  return true;
}

/**
 * The timestamp string at s[i] (any of tracing's timers): sets the record's time, returns the
 * index after it or -1.
 */
export function scanJsonTimestamp(s: string, i: number, rec: LogRecord, ctx: PartialTimeContext): number {
  const c = s.charCodeAt(i + 4);
  return isDigit(c) ? scanUptime(s, i, rec) : c === 45 ? scanIsoTimestamp(s, i, rec) : ctx.scanChronoLocal(s, i, rec);
}

// `{"timestamp":"YYYY-MM-DDTHH:MM:SS` of the last `…Z` timestamp scanIsoTimestamp read, its last
// char, and its seconds: at µs precision a relay writes thousands of lines a second.
let tsHead = '';
let tsHeadLast = 0;
let tsHeadSec = 0;
/** The timestamp scanTimestamp or secondFraction read (sec, nsec, digits). */
const ts = newRecord();
const POW10 = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1];
/** Where secondFraction's `Z` is. */
let fractionEnd = 0;

/**
 * After tsHead: `.fffZ"` into `ts` as scanIsoTimestamp reads it (up to 9 digits kept, more read
 * and dropped), fractionEnd at the `Z`; false for anything else (general path).
 */
function secondFraction(s: string): boolean {
  if (s.charCodeAt(33) !== C_DOT) return false;
  let v = 0;
  let n = 0;
  let j = 34;
  for (; ; j++) {
    const c = s.charCodeAt(j) - 48;
    if (!(c >= 0 && c <= 9)) break;
    if (n < 9) {
      v = v * 10 + c;
      n++;
    }
  }
  if (s.charCodeAt(j) !== C_UPPER_Z || s.charCodeAt(j + 1) !== C_QUOTE) return false;
  fractionEnd = j;
  ts.sec = tsHeadSec;
  ts.nsec = v * POW10[n];
  ts.digits = n;
  return true;
}

/**
 * The timestamp s[14..tsEnd) into `ts`, as scanJsonTimestamp reads it; false unless that takes
 * the whole string (what it leaves could hold a character JSON rejects).
 */
function scanTimestamp(s: string, tsEnd: number, ctx: PartialTimeContext): boolean {
  if (scanJsonTimestamp(s, 14, ts, ctx) !== tsEnd) return false;
  if (s.charCodeAt(18) === C_MINUS && s.charCodeAt(tsEnd - 1) === C_UPPER_Z) {
    // Flat: indexOf compares a flat pattern natively, a sliced one after flattening it.
    tsHead = Buffer.from(s.slice(0, 33), 'latin1').toString('latin1');
    tsHeadLast = s.charCodeAt(32);
    tsHeadSec = ts.sec;
  }
  return true;
}

/** A key seen before: its text as written (with the closing `":`) and its rendering. */
interface Key {
  /** `key":` */
  readonly raw: string;
  readonly first: number;
  readonly last: number;
  readonly length: number;
  /** `key=`, what a message or span gets before the value. */
  readonly part: string;
  /** ` key=`, what follows the message or another field before the value. */
  readonly spacedPart: string;
  readonly name: string;
  readonly isMessage: boolean;
  readonly isLog: boolean;
  readonly isName: boolean;
  /** The key that followed this one last time, tried first. */
  next: Key | undefined;
}

/** Known keys; when full, the line goes to JSON.parse and the next object starts afresh. */
const MAX_KEYS = 256;
const keys: Key[] = [];
/** More members in one object go to JSON.parse. */
const MAX_OBJECT_KEYS = 64;
/** Keys of the object being read (a duplicate goes to JSON.parse, which keeps the last value). */
const objectKeys: Key[] = [];
/** The first key of the last `fields` and span object. */
let firstFieldKey: Key | undefined;
let firstSpanKey: Key | undefined;

function dropKeys(): void {
  keys.length = 0;
  firstFieldKey = firstSpanKey = undefined;
}

// scanObject's results. Fields: the message and the other fields rendered `k=v k=v`;
// a span: its name and its fields.
let objectMain = '';
let objectRest = '';

/**
 * The members of a flat object from s[i] (after its `{`) to its `}`, rendered like
 * parseTracingJsonSlow renders `fields` (span false: `message`, `log.*` dropped) or a span
 * (`name`). Returns the index after the `}`, or -1 for the JSON.parse path.
 */
function scanObject(s: string, i: number, span: boolean): number {
  if (keys.length === MAX_KEYS) dropKeys();
  objectMain = '';
  objectRest = '';
  let nKeys = 0;
  let named = false;
  // A non-empty message first (tracing-subscriber's order): the other fields are appended to it
  // as they come, two concatenations a field instead of three and two more at the end.
  let appendToMain = false;
  let prev: Key | undefined;
  for (;;) {
    if (s.charCodeAt(i) !== C_QUOTE || nKeys === MAX_OBJECT_KEYS) return -1;
    const predicted = prev === undefined ? (span ? firstSpanKey : firstFieldKey) : prev.next;
    const key =
      predicted !== undefined &&
      s.charCodeAt(i + 1) === predicted.first &&
      s.charCodeAt(i + 1 + predicted.length) === C_QUOTE &&
      s.indexOf(predicted.raw, i + 1) === i + 1
        ? predicted
        : keyAt(s, i);
    if (key === undefined) return -1;
    if (prev !== undefined) prev.next = key;
    else if (span) firstSpanKey = key;
    else firstFieldKey = key;
    prev = key;
    // One Key per name (keys are only dropped between objects), so a repeat is the same object.
    for (let k = 0; k < nKeys; k++) if (objectKeys[k] === key) return -1;
    objectKeys[nKeys++] = key;
    i += key.length + 3;
    let value: string;
    let next: number;
    const c = s.charCodeAt(i);
    const main = span ? key.isName : key.isMessage;
    if (c === C_QUOTE) {
      next = stringAt(s, i + 1);
      if (next < 0) return -1;
      value = stringToken.text;
      next++;
    } else {
      // A non-string message or span name is not used as one: rare, left to JSON.parse.
      next = main ? -1 : literalEnd(s, i);
      if (next < 0) return -1;
      value = literalText(s.slice(i, next));
    }
    if (main) {
      objectMain = value;
      named = true;
      appendToMain = !span && nKeys === 1 && value !== '';
    } else if (span || !key.isLog) {
      if (appendToMain) objectMain = objectMain + key.spacedPart + value;
      else objectRest = objectRest === '' ? key.part + value : objectRest + ' ' + key.part + value;
    }
    const after = s.charCodeAt(next);
    if (after === C_CLOSE_BRACE) {
      if (span && !named) objectMain = '?';
      return next + 1;
    }
    if (after !== C_COMMA) return -1;
    i = next + 1;
  }
}

/** The key whose opening quote is at s[i], learnt on first sight; undefined: JSON.parse path. */
function keyAt(s: string, i: number): Key | undefined {
  const q = s.indexOf('"', i + 1);
  if (q < 0 || s.charCodeAt(q + 1) !== C_COLON) return undefined;
  const first = s.charCodeAt(i + 1);
  const last = s.charCodeAt(q - 1);
  const length = q - i - 1;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    // Filtered on length and first and last char, so indexOf rarely searches past i + 1.
    if (key.length === length && key.first === first && key.last === last && s.indexOf(key.raw, i + 1) === i + 1)
      return key;
  }
  // An integer-like key comes first in JSON.parse's object whatever its place in the line, and
  // `__proto__` is special to object literals; neither is worth a fast path.
  if (keys.length === MAX_KEYS || isDigit(first) || !plainText(s, i + 1, q)) return undefined;
  const name = ownCopy(s.slice(i + 1, q));
  if (name === '__proto__' || name.indexOf('\\') >= 0) return undefined;
  const key: Key = {
    raw: name + '":',
    first,
    last,
    length,
    part: name + '=',
    spacedPart: ' ' + name + '=',
    name,
    isMessage: name === 'message',
    isLog: name.startsWith('log.'),
    isName: name === 'name',
    next: undefined,
  };
  keys.push(key);
  return key;
}

/** What a line's tail (`,"target":…}` to the end of the line) gives the record. */
interface Tail {
  readonly raw: string;
  readonly target: string;
  readonly spans: string;
  readonly thread: string;
}

/**
 * Tails by a hash of their length and four of their chars (peer ids and ports differ anywhere):
 * bucket h is slots h * TAIL_WAYS … + TAIL_WAYS - 1, most recent first. The texts sit in an array
 * of their own, as flat strings: a lookup in the middle of the pipeline is bound by cache misses,
 * and this way it follows one pointer per candidate.
 */
const TAIL_BUCKETS = 1024;
const TAIL_WAYS = 4;
/** Longer tails are read every time, not kept. */
const MAX_TAIL = 2048;
const tailTexts: string[] = new Array<string>(TAIL_BUCKETS * TAIL_WAYS).fill('');
const tailSlots: Tail[] = new Array<Tail>(TAIL_BUCKETS * TAIL_WAYS);

/** The tail from s[i] to the end of the line; undefined: JSON.parse path. */
function tailAt(s: string, i: number): Tail | undefined {
  const end = s.length;
  const len = end - i;
  const h =
    (len * 31 +
      s.charCodeAt(i + (len >> 1)) * 7 +
      s.charCodeAt(i + (len >> 2)) * 5 +
      s.charCodeAt(end - (len >> 2)) * 3 +
      s.charCodeAt(end - 1 - (len >> 3))) &
    (TAIL_BUCKETS - 1);
  const first = h * TAIL_WAYS;
  const raw = s.slice(i);
  for (let k = first; k < first + TAIL_WAYS; k++) if (tailTexts[k] === raw) return tailSlots[k];
  const tail = scanTail(s, i);
  if (tail !== undefined && len <= MAX_TAIL) {
    for (let k = first + TAIL_WAYS - 1; k > first; k--) {
      tailTexts[k] = tailTexts[k - 1];
      tailSlots[k] = tailSlots[k - 1];
    }
    tailTexts[first] = tail.raw;
    tailSlots[first] = tail;
  }
  return tail;
}

// Top-level keys the tail reads, each once (bits of scanTail's `seen`), and any other.
const TAIL_KEYS = ['target', 'filename', 'line_number', 'span', 'spans', 'threadName', 'threadId'];
const OTHER_KEY = TAIL_KEYS.length;

/**
 * Reads a tail not seen before: `,"key":value` members and the closing `}` at
 * the end of the line. Renders the span context and thread as parseTracingJsonSlow does.
 */
function scanTail(s: string, i: number): Tail | undefined {
  let seen = 0;
  let target: string | undefined;
  let own = '';
  let list: string[] | undefined;
  let threadName: string | undefined;
  let threadId: string | undefined;
  const start = i;
  while (s.charCodeAt(i) === C_COMMA) {
    const q = s.indexOf('":', i + 2);
    if (s.charCodeAt(i + 1) !== C_QUOTE || q < 0) return undefined;
    const key = s.slice(i + 2, q);
    let k = TAIL_KEYS.indexOf(key);
    if (k < 0) {
      // Another key is ignored there too, unless it repeats one of the head's (its last value wins).
      if (s.indexOf('"', i + 2) !== q || backslashBefore(s, i + 2, q) || !plainText(s, i + 2, q)) return undefined;
      if (key === 'timestamp' || key === 'level' || key === 'fields') return undefined;
      k = OTHER_KEY;
    } else if ((seen & (1 << k)) !== 0) return undefined;
    seen |= 1 << k;
    i = q + 2;
    const c = s.charCodeAt(i);
    let text: string | undefined;
    if (c === C_QUOTE) {
      const e = stringAt(s, i + 1);
      if (e < 0) return undefined;
      text = stringToken.text;
      i = e + 1;
    } else if (k === 3 && c === C_OPEN_BRACE) {
      i = spanAt(s, i);
      if (i < 0) return undefined;
      own = spanText;
      continue;
    } else if (k === 4 && c === C_OPEN_BRACKET) {
      list = [];
      i = scanSpanList(s, i + 1, list);
      if (i < 0) return undefined;
      continue;
    } else {
      i = literalEnd(s, i);
      if (i < 0) return undefined;
    }
    // A value of another type than the slow path reads is ignored there as well.
    if (k === 0) target = text;
    else if (k === 5) threadName = text;
    else if (k === 6) threadId = text;
  }
  if (s.charCodeAt(i) !== C_CLOSE_BRACE || i !== s.length - 1 || target === undefined) return undefined;
  let spans = own;
  if (list !== undefined && list.length > 0) {
    if (own !== '' && list[list.length - 1] !== own) list.push(own);
    spans = list.join(':');
  }
  const thread = threadName !== undefined ? threadName : threadId !== undefined ? threadIdText(threadId) : '';
  // Kept strings must not be slices of the line (a `join` result is a new string already).
  return {
    raw: flatCopyOf(s.slice(start)),
    target: knownTarget(target),
    spans: spans === own && spans !== '' ? ownCopy(spans) : spans,
    thread: thread === '' ? '' : ownCopy(thread),
  };
}

/** Targets of the tails read so far (a log has a few dozen), to share one string per target. */
const targets: string[] = [];

function knownTarget(target: string): string {
  for (let k = 0; k < targets.length; k++) if (targets[k] === target) return targets[k];
  const t = ownCopy(target);
  if (targets.length === 64) targets.length = 0;
  targets.push(t);
  return t;
}

let spanText = '';

/** A span object's text and its rendering. */
interface Span {
  readonly raw: string;
  readonly text: string;
}

/** Span objects by a hash of their length and two chars; a new tail mostly lists known spans. */
const SPAN_BUCKETS = 256;
const SPAN_WAYS = 4;
const MAX_SPAN = 1024;
const spanBuckets: Span[][] = Array.from({ length: SPAN_BUCKETS }, () => []);

/** The span object at s[i] (its `{`): sets spanText; returns the index after its `}` or -1. */
function spanAt(s: string, i: number): number {
  // The first `}` ends the object unless a value holds one: then the lookup just misses.
  const e = s.indexOf('}', i);
  if (e < 0) return -1;
  const len = e + 1 - i;
  const bucket = spanBuckets[(len * 31 + s.charCodeAt(i + (len >> 1)) * 7 + s.charCodeAt(e - 2)) & (SPAN_BUCKETS - 1)];
  const raw = s.slice(i, e + 1);
  for (let k = 0; k < bucket.length; k++) {
    if (bucket[k].raw === raw) {
      spanText = bucket[k].text;
      return e + 1;
    }
  }
  const end = scanSpan(s, i + 1);
  if (end === e + 1 && len <= MAX_SPAN) {
    if (bucket.length === SPAN_WAYS) bucket.pop();
    bucket.unshift({ raw: ownCopy(raw), text: ownCopy(spanText) });
  }
  return end;
}

/** A span object from s[i] (after its `{`): sets spanText; returns the index after its `}` or -1. */
function scanSpan(s: string, i: number): number {
  if (s.charCodeAt(i) === C_CLOSE_BRACE) {
    spanText = '?';
    return i + 1;
  }
  i = scanObject(s, i, true);
  spanText = objectRest === '' ? objectMain : objectMain + '{' + objectRest + '}';
  return i;
}

/** The array of span objects from s[i] (after its `[`) into list; the index after its `]` or -1. */
function scanSpanList(s: string, i: number, list: string[]): number {
  if (s.charCodeAt(i) === C_CLOSE_BRACKET) return i + 1;
  for (;;) {
    if (s.charCodeAt(i) !== C_OPEN_BRACE) return -1;
    i = spanAt(s, i);
    if (i < 0) return -1;
    list.push(spanText);
    const c = s.charCodeAt(i);
    if (c === C_CLOSE_BRACKET) return i + 1;
    if (c !== C_COMMA) return -1;
    i++;
  }
}
