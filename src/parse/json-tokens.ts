/**
 * JSON tokens for the tracing JSON fast path (envelope-json-fast.ts): strings as JSON.parse reads
 * them (escapes decoded, control characters rejected), numbers and literals as
 * JSON.stringify(JSON.parse(…)) renders them, and copies of
 * slices that keep no chunk string alive.
 */
import { isDigit } from './envelope-scan.js';
import { ownCopy } from './record.js';

const C_QUOTE = 34,
  C_PLUS = 43,
  C_MINUS = 45,
  C_DOT = 46,
  C_ZERO = 48,
  C_UPPER_E = 69,
  C_SLASH = 47,
  C_BACKSLASH = 92,
  C_LOWER_B = 98,
  C_LOWER_E = 101,
  C_LOWER_F = 102,
  C_LOWER_N = 110,
  C_LOWER_R = 114,
  C_LOWER_T = 116,
  C_LOWER_U = 117;

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

// backslashAt's answer: the first backslash at or after backslashFrom (-1: none); backslashFrom
// -1: not looked for yet in this line. Most lines have none, and most of their strings are short
// enough that stringAt sees every char: the line is searched once, and only when a long string
// or a tail not seen before needs it.
let backslashFrom = -1;
let backslashIndex = -1;

/** A new line: backslashAt looks afresh. */
export function lineStarts(): void {
  backslashFrom = -1;
}

/** The first backslash at or after s[i] (-1: none); i never decreases within a line. */
function backslashAt(s: string, i: number): number {
  if (backslashFrom < 0 || (backslashIndex >= 0 && backslashIndex < i)) {
    backslashIndex = s.indexOf('\\', i);
    backslashFrom = i;
  }
  return backslashIndex;
}

/** A backslash in s[a..b). */
export function backslashBefore(s: string, a: number, b: number): boolean {
  const bs = backslashAt(s, a);
  return bs >= 0 && bs < b;
}

/** stringAt's value. */
export const stringToken = { text: '' };

/**
 * The string whose contents start at s[a]: its value (escapes decoded as JSON.parse decodes
 * them) into stringToken.text; returns the index of its closing quote, or -1 for the JSON.parse path
 * (a control character, an escape JSON rejects, no closing quote).
 */
export function stringAt(s: string, a: number): number {
  // A short string (most field values) in one pass: each char read once, no native call.
  for (let j = a; j < a + 16; j++) {
    const c = s.charCodeAt(j);
    if (c === C_QUOTE) {
      stringToken.text = s.slice(a, j);
      return j;
    }
    if (c === C_BACKSLASH) return unescapedString(s, a, j);
    if (c < 32) return -1; // NaN past the end fails all three: the loop is bounded
  }
  const q = s.indexOf('"', a + 16);
  if (q < 0) return -1;
  const bs = backslashAt(s, a + 16);
  if (bs >= 0 && bs < q) return unescapedString(s, a, bs);
  if (!plainText(s, a + 16, q)) return -1;
  stringToken.text = s.slice(a, q);
  return q;
}

/**
 * The string whose contents start at s[a] and whose first backslash is s[bs] (before its closing
 * quote): its value as JSON.parse reads it into stringToken.text; returns the index of its closing
 * quote, or -1 where JSON.parse throws (an escape JSON does not have, a control character, no
 * closing quote). Rare in tracing's lines (a Debug-formatted message quoting a string).
 */
function unescapedString(s: string, a: number, bs: number): number {
  let text = '';
  let from = a;
  for (;;) {
    // s[from..bs) is plain text, s[bs] a backslash.
    if (!plainText(s, from, bs)) return -1;
    text += s.slice(from, bs);
    const e = s.charCodeAt(bs + 1);
    from = bs + 2;
    switch (e) {
      case C_QUOTE:
        text += '"';
        break;
      case C_BACKSLASH:
        text += '\\';
        break;
      case C_SLASH:
        text += '/';
        break;
      case C_LOWER_B:
        text += '\b';
        break;
      case C_LOWER_F:
        text += '\f';
        break;
      case C_LOWER_N:
        text += '\n';
        break;
      case C_LOWER_R:
        text += '\r';
        break;
      case C_LOWER_T:
        text += '\t';
        break;
      case C_LOWER_U: {
        // Any code unit, a lone surrogate too: JSON.parse keeps it as it is.
        const h0 = hexAt(s, bs + 2),
          h1 = hexAt(s, bs + 3),
          h2 = hexAt(s, bs + 4),
          h3 = hexAt(s, bs + 5);
        if ((h0 | h1 | h2 | h3) < 0) return -1;
        text += String.fromCharCode((h0 << 12) | (h1 << 8) | (h2 << 4) | h3);
        from = bs + 6;
        break;
      }
      default:
        return -1;
    }
    const q = s.indexOf('"', from);
    if (q < 0) return -1;
    bs = s.indexOf('\\', from);
    if (bs < 0 || bs > q) {
      if (!plainText(s, from, q)) return -1;
      stringToken.text = text + s.slice(from, q);
      return q;
    }
  }
}

/** The value of the hex digit at s[i], or -1. */
function hexAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32; // A-F → a-f
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
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

/** ownCopy as a flat string (chars right after its header): a raw line's chars are all latin1. */
export function flatCopyOf(x: string): string {
  const latin1 = Buffer.from(x, 'latin1').toString('latin1');
  return latin1 === x ? latin1 : ownCopy(x);
}
