/**
 * Fast readings of the winksaville fork's frequent lines (polling-fork.ts): half of a fork
 * relay's log is `ctl:±`, `modify:±` and `wait:…` lines.
 *
 * The generic reading looks for each field with fieldStart (a native indexOf per field, and a
 * startsWith per literal: 15–25 ns each on a sliced string, a dozen per line). The fork writes
 * these lines one way, so the readers here check that each field sits exactly where that search
 * would find it first (its literal right after the value before it, a non-word character before
 * the key) and read it there, with charCodeAt (inlined, ~2 ns) for short literals and indexOf at
 * a position (textAt) for long ones. On anything else they return false and the decoder takes its
 * generic reading, so a line reads the same either way (test/decode/polling-fork-fast.test.ts).
 */
import { decimalKeyAt, digitsEnd, digitsText, eventBodyAt, hexAt, intAt, isDigitCode, scan, textAt } from './fields.js';

const C_SPACE = 32,
  C_COMMA = 44,
  C_COLON = 58,
  C_EQ = 61,
  C_RBRACKET = 93,
  C_RBRACE = 125,
  C_4 = 52,
  C_6 = 54,
  C_d = 100,
  C_e = 101,
  C_f = 102,
  C_i = 105,
  C_r = 114,
  C_s = 115,
  C_t = 116,
  C_u = 117;

/** Off: the decoder's generic reading only (for the test that compares the two). */
export const forkFastPaths = { on: true };

/** What the last reader below read. */
export const fast = {
  tid: undefined as string | undefined,
  fd: 0,
  /** A reader's second number (a target fd, a key, a count), when it reads one. */
  value: 0,
  flags: 0,
  /** Index just past what the reader checked (where the decoder reads on). */
  at: 0,
  /** A list entry's u64 is decimal (after `libc::epoll_event`). */
  decimal: false,
};

/**
 * The fork's usual head at `pos`: ` [tid=N ]epoll_fd=E` (one space, decimal digits): the index
 * just past E, with fast.tid and fast.fd set; -1 when the text is laid out otherwise. Where it
 * matches, it reads what `tidAt(m, skipSpaces(m, pos))` then `intField(m, 'epoll_fd=', scan.end)`
 * read (the key follows a space, no `epoll_fd=` can start before it).
 */
export function forkHead(m: string, pos: number): number {
  if (!forkFastPaths.on || m.charCodeAt(pos) !== C_SPACE) return -1;
  let p = pos + 1;
  fast.tid = undefined;
  if (m.charCodeAt(p) === C_t) {
    if (m.charCodeAt(p + 1) !== C_i || m.charCodeAt(p + 2) !== C_d || m.charCodeAt(p + 3) !== C_EQ) return -1;
    const d = digitsEnd(m, p + 4);
    if (d === p + 4 || m.charCodeAt(d) !== C_SPACE) return -1;
    fast.tid = digitsText(m, p + 4, d, intAt(m, p + 4));
    p = d + 1;
  }
  if (m.charCodeAt(p) !== C_e || !textAt(m, p, 'epoll_fd=') || !isDigitCode(m.charCodeAt(p + 9))) return -1;
  fast.fd = intAt(m, p + 9);
  return scan.end;
}

/** `, ` then `c` at `pos` (the separator the fork writes between fields). */
function commaThen(m: string, pos: number, c: number): boolean {
  return m.charCodeAt(pos) === C_COMMA && m.charCodeAt(pos + 1) === C_SPACE && m.charCodeAt(pos + 2) === c;
}

/** ` u64` then `sep` at `pos`. */
function u64At(m: string, pos: number, sep: number): boolean {
  return (
    m.charCodeAt(pos) === C_SPACE &&
    m.charCodeAt(pos + 1) === C_u &&
    m.charCodeAt(pos + 2) === C_6 &&
    m.charCodeAt(pos + 3) === C_4 &&
    m.charCodeAt(pos + 4) === sep
  );
}

/** `wait:+ [tid=N ]epoll_fd=E, timeout=`: fast.at just past `timeout=`. */
export function waitStartAt(m: string): boolean {
  const q = forkHead(m, 6);
  if (q < 0 || !commaThen(m, q, C_t) || !textAt(m, q + 2, 'timeout=')) return false;
  fast.at = q + 10;
  return true;
}

/** `wait:- [tid=N ]epoll_fd=E, res=`: fast.at just past `res=`. */
export function waitEndAt(m: string): boolean {
  const q = forkHead(m, 6);
  if (
    q < 0 ||
    !commaThen(m, q, C_r) ||
    m.charCodeAt(q + 3) !== C_e ||
    m.charCodeAt(q + 4) !== C_s ||
    m.charCodeAt(q + 5) !== C_EQ
  )
    return false;
  fast.at = q + 6;
  return true;
}

/** The wake's `running epoll_fd=E, events.len=R` at `p`: fast.fd, fast.value (R, maybe NaN). */
export function wakeAt(m: string, p: number): boolean {
  if (!forkFastPaths.on || !textAt(m, p + 8, 'epoll_fd=') || !isDigitCode(m.charCodeAt(p + 17))) return false;
  const d = digitsEnd(m, p + 17);
  if (!textAt(m, d, ', events.len=')) return false;
  fast.fd = intAt(m, p + 17);
  fast.value = intAt(m, d + 13);
  return true;
}

/**
 * A list entry's `] libc::epoll_event { events: X u64: ` (decimal key) or `] { events: X u64: `
 * (hex key) at `b`, the `]` after its index: fast.flags, fast.decimal, fast.at at the key.
 */
export function listAt(m: string, b: number): boolean {
  if (!forkFastPaths.on || m.charCodeAt(b) !== C_RBRACKET) return false;
  let h: number;
  if (textAt(m, b, '] libc::epoll_event { events: ')) {
    h = b + 30;
    fast.decimal = true;
  } else if (textAt(m, b, '] { events: ')) {
    h = b + 12;
    fast.decimal = false;
  } else return false;
  fast.flags = hexAt(m, h);
  const u = scan.end;
  if (u === h || !u64At(m, u, C_COLON) || m.charCodeAt(u + 5) !== C_SPACE) return false;
  fast.at = u + 6;
  return true;
}

/**
 * The whole `ctl:+` line as 9ae5e98..e1c433b write it, up to its end (so that no other field can
 * follow): ` [tid=N ]epoll_fd=E, event_fd=F libc::epoll_event { events=X u64=K }`. It has no
 * `fd=` field (event_fd's is inside a word) and no `flags=`: a modify of an fd the line does not
 * name, fast.flags = X, fast.value = K.
 */
export function ctlAt(m: string): boolean {
  const q = forkHead(m, 5);
  if (q < 0 || !textAt(m, q, ', event_fd=')) return false;
  const f = digitsEnd(m, q + 11);
  if (f === q + 11 || !textAt(m, f, ' libc::epoll_event { events=')) return false;
  fast.flags = hexAt(m, f + 28);
  const u = scan.end;
  if (u === f + 28 || !u64At(m, u, C_EQ) || !isDigitCode(m.charCodeAt(u + 5))) return false;
  fast.value = decimalKeyAt(m, u + 5);
  const e = scan.end;
  return m.length === e + 2 && m.charCodeAt(e) === C_SPACE && m.charCodeAt(e + 1) === C_RBRACE;
}

/**
 * `add:+`/`modify:+ [tid=N ]epoll_fd=E, fd=F, ev=Event { …` with `pos` at the space after the
 * sign: fast.value = F (NaN when not a number), the Event read into evScratch.
 */
export function addModifyAt(m: string, pos: number): boolean {
  const q = forkHead(m, pos);
  if (q < 0 || !commaThen(m, q, C_f) || m.charCodeAt(q + 3) !== C_d || m.charCodeAt(q + 4) !== C_EQ) return false;
  fast.value = intAt(m, q + 5);
  const e = scan.end;
  return textAt(m, e, ', ev=Event { ') && eventBodyAt(m, e + 13);
}
