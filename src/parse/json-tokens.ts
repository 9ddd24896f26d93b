/**
 * JSON tokens for the tracing JSON fast path (envelope-json-fast.ts): string contents JSON.parse
 * accepts, numbers and literals as JSON.stringify(JSON.parse(…)) renders them, and copies of
 * slices that keep no chunk string alive.
 */
import { isDigit } from './envelope-scan.js';

const C_QUOTE = 34,
  C_PLUS = 43,
  C_MINUS = 45,
  C_DOT = 46,
  C_ZERO = 48,
  C_UPPER_E = 69,
  C_BACKSLASH = 92,
  C_LOWER_E = 101,
  C_LOWER_F = 102,
  C_LOWER_N = 110,
  C_LOWER_T = 116;

// JSON.parse rejects a control character in a string; past a few chars a regex finds one faster
// than a charCodeAt loop (~0.5 ns a char against ~2).
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL_CHAR = /[\u0000-\u001f]/;

/** No control character in s[a..b). */
export function plainText(s: string, a: number, b: number): boolean {
  if (b - a > 16) return !CONTROL_CHAR.test(s.slice(a, b));
  for (; a < b; a++) if (s.charCodeAt(a) < 32) return false;
  return true;
}

/**
 * The closing quote of the string whose contents start at s[a], or -1 if it holds an escape or a
 * control character; bs is the first backslash at or after a (-1: none).
 */
export function stringEnd(s: string, a: number, bs: number): number {
  // A short string (most field values) in one pass: each char read once, no native call.
  for (let j = a; j < a + 16; j++) {
    const c = s.charCodeAt(j);
    if (c === C_QUOTE) return j;
    if (c < 32 || c === C_BACKSLASH) return -1; // NaN past the end fails both: the loop is bounded
  }
  const q = s.indexOf('"', a + 16);
  return q < 0 || (bs >= 0 && bs < q) || !plainText(s, a + 16, q) ? -1 : q;
}

/** End of the number, `true`, `false` or `null` at s[i], or -1 (not one, or not JSON's grammar). */
export function literalEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === C_LOWER_T) return s.startsWith('true', i) ? i + 4 : -1;
  if (c === C_LOWER_F) return s.startsWith('false', i) ? i + 5 : -1;
  if (c === C_LOWER_N) return s.startsWith('null', i) ? i + 4 : -1;
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  if (c === C_MINUS) i++;
  if (s.charCodeAt(i) === C_ZERO) i++;
  else if (isDigit(s.charCodeAt(i))) i = digitsEnd(s, i);
  else return -1;
  if (s.charCodeAt(i) === C_DOT) {
    if (!isDigit(s.charCodeAt(i + 1))) return -1;
    i = digitsEnd(s, i + 1);
  }
  const e = s.charCodeAt(i);
  if (e === C_LOWER_E || e === C_UPPER_E) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === C_PLUS || sign === C_MINUS) i++;
    if (!isDigit(s.charCodeAt(i))) return -1;
    i = digitsEnd(s, i);
  }
  return i;
}

function digitsEnd(s: string, i: number): number {
  while (isDigit(s.charCodeAt(i))) i++;
  return i;
}

/** JSON.stringify(JSON.parse(text)) for a literal literalEnd accepted. */
export function literalText(text: string): string {
  const c = text.charCodeAt(0);
  if (c === C_LOWER_T || c === C_LOWER_F || c === C_LOWER_N) return text;
  const n = Number(text);
  return Number.isFinite(n) ? String(n) : 'null'; // 1e999 parses to Infinity, which stringifies as null
}

/**
 * A copy of a slice of a line that keeps no chunk string alive: V8 flattens the concatenation
 * into a new string before slicing it (~3x cheaper than a Buffer round trip, and exact for any
 * char).
 */
export function copyOf(x: string): string {
  return (' ' + x).slice(1);
}

/** copyOf as a flat string (chars right after its header): a raw line's chars are all latin1. */
export function flatCopyOf(x: string): string {
  const latin1 = Buffer.from(x, 'latin1').toString('latin1');
  return latin1 === x ? latin1 : copyOf(x);
}
