/**
 * Allocation-free scanners for the values inside log messages (log-formats.md section 4).
 *
 * They run for most lines of a relay log, so they use indexOf/charCodeAt only: no regular
 * expressions, no slices, no arrays. Functions that read a value at a position also report where
 * the value ended in `scan.end` (a shared scratch cell instead of a returned tuple).
 */
import { NOTIFY_KEY } from './events.js';

/** Where the last `…At` scanner stopped (index just past the value it read). */
export const scan = { end: 0 };

const C_0 = 48,
  C_9 = 57,
  C_A = 65,
  C_F = 70,
  C_Z = 90,
  C_a = 97,
  C_f = 102,
  C_z = 122;
const C_MINUS = 45,
  C_DOT = 46,
  C_UNDERSCORE = 95,
  C_QUOTE = 34,
  C_SPACE = 32,
  C_EQ = 61,
  C_LPAREN = 40,
  C_N = 78,
  C_S = 83,
  C_d = 100,
  C_e = 101,
  C_i = 105,
  C_l = 108,
  C_m = 109,
  C_n = 110,
  C_o = 111,
  C_r = 114,
  C_s = 115,
  C_t = 116,
  C_u = 117,
  C_k = 107,
  C_y = 121,
  C_COLON = 58,
  C_1 = 49,
  C_4 = 52;

function isWordChar(c: number): boolean {
  return (
    (c >= C_0 && c <= C_9) || (c >= C_a && c <= C_z) || (c >= C_A && c <= C_Z) || c === C_UNDERSCORE || c === C_DOT
  );
}

function hexDigit(c: number): number {
  if (c >= C_0 && c <= C_9) return c - C_0;
  if (c >= C_a && c <= C_f) return c - C_a + 10;
  if (c >= C_A && c <= C_F) return c - C_A + 10;
  return -1;
}

export function isDigitCode(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

/** Index just past the decimal digits at `pos` (`pos` itself when there are none). */
export function digitsEnd(text: string, pos: number): number {
  while (isDigitCode(text.charCodeAt(pos))) pos++;
  return pos;
}

/**
 * Index just past `key` (which includes its `=` or `: `, e.g. `'fd='`) in `text` at or after
 * `from`, where `key` starts a field: at the start or after a non-word character, so `'fd='`
 * does not match inside `epoll_fd=` or `event_fd=`. -1 if absent.
 */
export function fieldStart(text: string, key: string, from = 0): number {
  let i = text.indexOf(key, from);
  while (i >= 0) {
    if (i === 0 || !isWordChar(text.charCodeAt(i - 1))) return i + key.length;
    i = text.indexOf(key, i + 1);
  }
  return -1;
}

/**
 * Decimal integer at `pos` (optional `-`; a leading `"` from JSON-rendered Debug values is
 * skipped). NaN if no digit. Sets scan.end.
 */
export function intAt(text: string, pos: number): number {
  if (text.charCodeAt(pos) === C_QUOTE) pos++;
  let neg = false;
  if (text.charCodeAt(pos) === C_MINUS) {
    neg = true;
    pos++;
  }
  let v = 0;
  let i = pos;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < C_0 || c > C_9) break;
    v = v * 10 + (c - C_0);
  }
  scan.end = i;
  if (i === pos) return NaN;
  return neg ? -v : v;
}

/** Integer field `key` (e.g. `'res='`) anywhere in `text` at or after `from`; NaN if absent. */
export function intField(text: string, key: string, from = 0): number {
  const p = fieldStart(text, key, from);
  return p < 0 ? NaN : intAt(text, p);
}

const USIZE_MAX_64 = '18446744073709551615';
const USIZE_MAX_32 = '4294967295';

/**
 * Decimal key at `pos` (polling 2.x `Event` Debug, fork `u64=` in 9ae5e98..e1c433b):
 * usize::MAX (`18446744073709551615`, or `4294967295` on 32-bit targets) → NOTIFY_KEY.
 * NaN if no digit. Sets scan.end.
 */
export function decimalKeyAt(text: string, pos: number): number {
  // Cheap checks first (the first digit, no digit after the run's would-be end), then one native
  // indexOf that matches only at `pos`: a startsWith of 20 chars or a JS loop over them costs
  // ~50 ns on a sliced string, and most keys of a fork log are usize::MAX.
  const c = text.charCodeAt(pos);
  if (
    (c === C_1 && !isDigitCode(text.charCodeAt(pos + 20)) && text.indexOf(USIZE_MAX_64, pos) === pos) ||
    (c === C_4 && !isDigitCode(text.charCodeAt(pos + 10)) && text.indexOf(USIZE_MAX_32, pos) === pos)
  ) {
    scan.end = pos + (c === C_1 ? 20 : 10);
    return NOTIFY_KEY;
  }
  return intAt(text, pos);
}

/** Hex digits at `pos`, no `0x` (fork `{:0x}`/`{:x}`). NaN if none. Sets scan.end. */
export function hexAt(text: string, pos: number): number {
  let v = 0;
  let i = pos;
  for (; i < text.length; i++) {
    const d = hexDigit(text.charCodeAt(i));
    if (d < 0) break;
    v = v * 16 + d;
  }
  scan.end = i;
  return i === pos ? NaN : v;
}

/**
 * Hex key at `pos` (fork v1+: `u64: ffffffffffffffff`, `key: ffffffffffffffff`):
 * all-`f` 64-bit or 32-bit usize::MAX → NOTIFY_KEY. NaN if no hex digit. Sets scan.end.
 */
export function hexKeyAt(text: string, pos: number): number {
  const v = hexAt(text, pos);
  const len = scan.end - pos;
  if ((len === 16 || len === 8) && allF(text, pos, scan.end)) return NOTIFY_KEY;
  return v;
}

function allF(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== C_f && c !== C_F) return false;
  }
  return true;
}

/**
 * Rust `Duration` Debug (`569.999073677s`, `50ms`, `1.5µs`, `0ns`) or tracing FmtSpan timing
 * (`41.2µs`, `4.99s`) at `pos` (>= 0), in ns; NaN if not one. Same result as time.ts parseRustDuration,
 * but reads in place (this runs once per wait). Integer arithmetic keeps 9 fraction digits exact.
 */
export function durationAt(text: string, pos: number): number {
  // Each char read once (charCodeAt on a sliced message costs ~3 ns): a loop's last char is
  // the next test's. Past the end charCodeAt gives NaN, which no test matches.
  let c = text.charCodeAt(pos);
  if (c === C_QUOTE) c = text.charCodeAt(++pos);
  let whole = 0;
  let i = pos;
  while (c >= C_0 && c <= C_9) {
    whole = whole * 10 + (c - C_0);
    c = text.charCodeAt(++i);
  }
  if (i === pos) {
    scan.end = pos;
    return NaN;
  }
  let frac = 0;
  let fracScale = 1;
  if (c === C_DOT) {
    const f0 = ++i;
    c = text.charCodeAt(i);
    while (c >= C_0 && c <= C_9) {
      frac = frac * 10 + (c - C_0);
      fracScale *= 10;
      c = text.charCodeAt(++i);
    }
    if (i === f0) {
      scan.end = i;
      return NaN;
    }
  }
  const u = c;
  let unit: number;
  if (u === 115 /* s */) {
    unit = 1_000_000_000;
    i += 1;
  } else if (
    // a raw record's `µs` / `μs`: the sign's two UTF-8 bytes as two chars (LogRecord.raw)
    ((u === 0xc2 && text.charCodeAt(i + 1) === 0xb5) || (u === 0xce && text.charCodeAt(i + 1) === 0xbc)) &&
    text.charCodeAt(i + 2) === 115
  ) {
    unit = 1_000;
    i += 3;
  } else if (text.charCodeAt(i + 1) !== 115) {
    scan.end = i;
    return NaN;
  } else if (u === 110 /* n */) {
    unit = 1;
    i += 2;
  } else if (u === 0xb5 /* µ MICRO SIGN */ || u === 0x3bc /* μ GREEK MU */ || u === 117 /* u */) {
    unit = 1_000;
    i += 2;
  } else if (u === 109 /* m */) {
    unit = 1_000_000;
    i += 2;
  } else {
    scan.end = i;
    return NaN;
  }
  scan.end = i;
  return whole * unit + Math.round((frac * unit) / fracScale);
}

/**
 * `Option<Duration>` Debug at `pos`: `None` → null, `Some(…)` → ns; NaN if neither.
 * Sets scan.end (past `None` or the closing `)`).
 */
/** A timeout for a wait_start event: NaN (absent, not a duration) becomes undefined, "not logged". */
export function timeoutOrUnknown(ns: number | null): number | null | undefined {
  return ns !== null && Number.isNaN(ns) ? undefined : ns;
}

export function optionDurationAt(text: string, pos: number): number | null {
  if (noneAt(text, pos)) {
    scan.end = pos + 4;
    return null;
  }
  if (!someAt(text, pos)) {
    scan.end = pos;
    return NaN;
  }
  const ns = durationAt(text, pos + 5);
  if (text.charCodeAt(scan.end) === 41 /* ) */) scan.end++;
  return ns;
}

/**
 * `Option<RawFd>` Debug at `pos`: `None` → null, `Some(7)` → 7; polling 3.x `Some(OwnedFd { fd: 5 })`
 * → 5. NaN if neither.
 */
export function optionFdAt(text: string, pos: number): number | null {
  if (noneAt(text, pos)) {
    scan.end = pos + 4;
    return null;
  }
  if (!someAt(text, pos)) {
    scan.end = pos;
    return NaN;
  }
  return fdValueAt(text, pos + 5);
}

/**
 * An fd value at `pos`: a bare int (polling 2.x, 3.x `add`) or 3.x `BorrowedFd { fd: 5 }` /
 * `OwnedFd { fd: 5 }` Debug. NaN if neither.
 */
export function fdValueAt(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  if (isDigitCode(c) || c === C_MINUS) return intAt(text, pos);
  const p = text.indexOf('fd: ', pos);
  // Only the Debug struct right here, not an `fd: ` further along the message.
  if (p < 0 || p - pos > 16) {
    scan.end = pos;
    return NaN;
  }
  return intAt(text, p + 4);
}

/** `true`/`false` at `pos`; undefined if neither. */
export function boolAt(text: string, pos: number): boolean | undefined {
  // Char by char (inlined) rather than startsWith: a native call per literal costs ~20 ns.
  if (pos >= 0) {
    const c = text.charCodeAt(pos);
    if (
      c === C_t &&
      text.charCodeAt(pos + 1) === C_r &&
      text.charCodeAt(pos + 2) === C_u &&
      text.charCodeAt(pos + 3) === C_e
    ) {
      scan.end = pos + 4;
      return true;
    }
    if (
      c === C_f &&
      text.charCodeAt(pos + 1) === C_a &&
      text.charCodeAt(pos + 2) === C_l &&
      text.charCodeAt(pos + 3) === C_s &&
      text.charCodeAt(pos + 4) === C_e
    ) {
      scan.end = pos + 5;
      return false;
    }
  } else if (text.startsWith('true', pos)) {
    // (startsWith reads a negative position as 0: kept as it was for a caller passing one)
    scan.end = pos + 4;
    return true;
  } else if (text.startsWith('false', pos)) {
    scan.end = pos + 5;
    return false;
  }
  scan.end = pos;
  return undefined;
}

/** `None` at `pos` (≥ 0 for a match), char by char. */
function noneAt(text: string, pos: number): boolean {
  if (pos < 0) return text.startsWith('None', pos);
  return (
    text.charCodeAt(pos) === C_N &&
    text.charCodeAt(pos + 1) === C_o &&
    text.charCodeAt(pos + 2) === C_n &&
    text.charCodeAt(pos + 3) === C_e
  );
}

/** `Some(` at `pos`, char by char. */
function someAt(text: string, pos: number): boolean {
  if (pos < 0) return text.startsWith('Some(', pos);
  return (
    text.charCodeAt(pos) === C_S &&
    text.charCodeAt(pos + 1) === C_o &&
    text.charCodeAt(pos + 2) === C_m &&
    text.charCodeAt(pos + 3) === C_e &&
    text.charCodeAt(pos + 4) === C_LPAREN
  );
}

/**
 * Start index of the innermost span in a tracing span context (`outer{f=v}:mid:inner{f=v}`):
 * the last depth-0 `:` separator, skipping `::` of path-like names (`Swarm::poll`,
 * `async_io::main_loop`) and anything inside `{}` (field values contain `:`). -1 for "".
 */
export function innermostSpanStart(spans: string): number {
  let end = spans.length;
  if (end === 0) return -1;
  // Tolerate a trailing separator as written before the target (`wait{…}: `).
  if (spans.charCodeAt(end - 1) === 58 && spans.charCodeAt(end - 2) !== 58) end--;
  let depth = 0;
  for (let i = end - 1; i >= 0; i--) {
    const c = spans.charCodeAt(i);
    if (c === 125 /* } */) depth++;
    else if (c === 123 /* { */) {
      if (depth > 0) depth--;
    } else if (c === 58 /* : */ && depth === 0) {
      if (spans.charCodeAt(i - 1) === 58) {
        i--;
        continue;
      }
      return i + 1;
    }
  }
  return 0;
}

/** True when the span starting at `start` in `spans` is named exactly `name` (`name` or `name{…}`). */
export function spanNameIs(spans: string, start: number, name: string): boolean {
  if (start < 0 || !spans.startsWith(name, start)) return false;
  const next = start + name.length;
  if (next === spans.length) return true;
  const c = spans.charCodeAt(next);
  return c === 123 /* { */ || (c === 58 /* : */ && spans.charCodeAt(next + 1) !== 58 && next + 1 === spans.length);
}

/**
 * The timing of a FmtSpan `close time.busy=… time.idle=…` message, into `ev` (a field stays
 * unset when the message lacks it or it is not a duration).
 *
 * Returns the index just past the time.idle value when the message is laid out as FmtSpan writes
 * it, `?????·time.busy=D·time.idle=D` (the first five chars, the caller's `close`, unchecked) with
 * both durations read; else -1. Before that index there is then no `=` but those two keys'.
 */
export function spanTimingInto(m: string, ev: { busyNs?: number; idleNs?: number }, busyAt16 = false): number {
  // Looked for where FmtSpan writes them first: what fieldStart finds (a space before each key,
  // no match possible before it), at the cost of one indexOf each. busyAt16: the caller knows
  // that the message starts `close time.busy=` (its own check found the word so).
  let laidOut = busyAt16 || (m.charCodeAt(5) === C_SPACE && textAt(m, 6, 'time.busy='));
  const b = laidOut ? 16 : fieldStart(m, 'time.busy=', 5);
  if (b >= 0) {
    const v = durationAt(m, b);
    if (!Number.isNaN(v)) ev.busyNs = v;
    else laidOut = false;
  }
  const from = b >= 0 ? scan.end : 5;
  laidOut = laidOut && textAt(m, from, ' time.idle=');
  const i = laidOut ? from + 11 : fieldStart(m, 'time.idle=', from);
  if (i >= 0) {
    const v = durationAt(m, i);
    if (!Number.isNaN(v)) {
      ev.idleNs = v;
      if (laidOut) return scan.end;
    }
  }
  return -1;
}

/**
 * `m` is the word `w` alone or followed by a space: FmtSpan lifecycle messages (`new`, `close
 * time.busy=…`; the Compact layout appends span fields after a space).
 */
export function isWordMessage(m: string, w: string): boolean {
  return m.startsWith(w) && (m.length === w.length || m.charCodeAt(w.length) === C_SPACE);
}

/**
 * The context `spans` ends with the span `name`, a name without fields and without a single `:`
 * (`Connection::poll`): then innermostSpanStart finds `name` and spanNameIs(…, name) holds. False
 * says nothing (the name may have fields): ask those two. Reads the end only, not the context.
 */
export function endsWithSpan(spans: string, name: string): boolean {
  const s = spans.length - name.length;
  if (s < 0) return false;
  if (s > 0 && (spans.charCodeAt(s - 1) !== 58 || spans.charCodeAt(s - 2) === 58)) return false;
  return textAt(spans, s, name);
}

/**
 * `text` holds `w` at `pos`: startsWith(w, pos), which in Node 20 costs ~40 ns even for a short
 * `w` and ~1 ns a char beyond (and charCodeAt on a sliced string ~3 ns a char). indexOf (~25 ns)
 * tells a match at `pos` at once; a miss it may search on past `pos` (a native scan). Long words
 * (indexOf builds a Boyer-Moore table) are compared as a slice, in native code. A `pos` outside
 * the text is no match (startsWith would move it to the text's nearer end).
 */
export function textAt(text: string, pos: number, w: string): boolean {
  const n = w.length;
  if (pos < 0 || pos + n > text.length) return false;
  if (n > 40) return text.slice(pos, pos + n) === w;
  return text.indexOf(w, pos) === pos;
}

/** Skips spaces at `pos`. */
export function skipSpaces(text: string, pos: number): number {
  while (text.charCodeAt(pos) === C_SPACE) pos++;
  return pos;
}

/**
 * A fork `tid=N ` field at `pos` (the messages put it first): the tid as the string the
 * records use for threads ("7"), and scan.end past it and its trailing space; undefined (scan.end
 * = pos) when there is none.
 */
export function tidAt(text: string, pos: number): string | undefined {
  if (
    !(pos >= 0
      ? text.charCodeAt(pos) === C_t &&
        text.charCodeAt(pos + 1) === C_i &&
        text.charCodeAt(pos + 2) === C_d &&
        text.charCodeAt(pos + 3) === C_EQ
      : text.startsWith('tid=', pos))
  ) {
    scan.end = pos;
    return undefined;
  }
  const n = intAt(text, pos + 4);
  if (Number.isNaN(n)) {
    scan.end = pos;
    return undefined;
  }
  const end = scan.end;
  scan.end = text.charCodeAt(end) === C_SPACE ? end + 1 : end;
  return digitsText(text, pos + 4, end, n);
}

/** "0" … "255": the thread ids of a relay's log, shared instead of sliced from every line. */
const SMALL_INTS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/**
 * `text.slice(from, to)` where intAt(text, from) read `n` and ended at `to`: a shared string for a
 * small value written plainly (a digit first, no leading zero), which also hashes once as a map key.
 */
export function digitsText(text: string, from: number, to: number, n: number): string {
  if (n < 256 && to - from === (n < 10 ? 1 : n < 100 ? 2 : 3) && isDigitCode(text.charCodeAt(from)))
    return SMALL_INTS[n];
  return text.slice(from, to);
}

/** What the last eventAt() read. */
export const evScratch = {
  key: NaN,
  readable: undefined as boolean | undefined,
  writable: undefined as boolean | undefined,
};

/**
 * A polling `Event` at `pos`: Debug `Event { key: 0, readable: true, writable: false }` (decimal
 * key; 3.x adds `, extra: …`) or the fork's Display (v1..v5)
 * `Event { r: true w: false key: ffffffffffffffff } ` (hex key). Fills evScratch; false if neither.
 */
export function eventAt(text: string, pos: number): boolean {
  // (indexOf at a position: cheaper than startsWith on a sliced string; the same for pos ≥ 0)
  if (!(pos >= 0 ? textAt(text, pos, 'Event { ') : text.startsWith('Event { ', pos))) return false;
  return eventBodyAt(text, pos + 8);
}

/** eventAt past its `Event { ` (at `q`), for a caller that has checked that already. */
export function eventBodyAt(text: string, q: number): boolean {
  if (
    text.charCodeAt(q) === C_k &&
    text.charCodeAt(q + 1) === C_e &&
    text.charCodeAt(q + 2) === C_y &&
    text.charCodeAt(q + 3) === C_COLON &&
    text.charCodeAt(q + 4) === C_SPACE
  ) {
    evScratch.key = decimalKeyAt(text, q + 5);
    let p = fieldStart(text, 'readable: ', scan.end);
    evScratch.readable = p < 0 ? undefined : boolAt(text, p);
    p = fieldStart(text, 'writable: ', p < 0 ? q : scan.end);
    evScratch.writable = p < 0 ? undefined : boolAt(text, p);
    return true;
  }
  if (text.charCodeAt(q) === C_r && text.charCodeAt(q + 1) === C_COLON && text.charCodeAt(q + 2) === C_SPACE) {
    evScratch.readable = boolAt(text, q + 3);
    let p = fieldStart(text, 'w: ', scan.end);
    evScratch.writable = p < 0 ? undefined : boolAt(text, p);
    p = fieldStart(text, 'key: ', p < 0 ? q : scan.end);
    evScratch.key = p < 0 ? NaN : hexKeyAt(text, p);
    return true;
  }
  return false;
}
