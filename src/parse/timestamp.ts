/**
 * Timestamp scanners for the layouts in log-formats.md 3.6. Each reads digits by char code at a
 * position and writes sec/nsec/digits into the record: no regex, no substring, no Date per line.
 *
 * End of line: `charCodeAt` past the end is NaN, and NaN fails every comparison, so a test written
 * `c < 0 || c > 9` lets it through as a "digit" (a loop then never ends, a sum becomes NaN).
 * Every digit test here is written `c >= 0 && c <= 9` (false for NaN) or bounded by the length.
 */
import type { LogRecord } from './record.js';

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** n decimal digits at s[i..i+n), or -1 if any is not a digit. */
export function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (!(c >= 0 && c <= 9)) return -1; // NaN past the end of the line is not a digit
    v = v * 10 + c;
  }
  return v;
}

const POW10 = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1];

/** Fraction after '.' at s[i]: sets rec.nsec/digits; returns index after the digits. */
function fraction(s: string, i: number, rec: LogRecord): number {
  let v = 0;
  let n = 0;
  for (const len = s.length; i < len;) {
    const c = s.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) break;
    if (n < 9) {
      v = v * 10 + c;
      n++;
    }
    i++;
  }
  rec.nsec = v * POW10[n];
  rec.digits = n;
  return i;
}

// One-entry cache: consecutive lines almost always share the date, hour and minute, so the
// common case compares 16 chars instead of parsing five fields.
let cachedMinute = '';
let cachedMinuteSec = 0;
// …and at µs precision a busy relay writes thousands of lines within one second.
let cachedSecond = '';
let cachedSecondSec = 0;

/**
 * RFC 3339 `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)` at s[i] (also a space instead of T).
 * Returns the index after it, or -1.
 */
export function scanIsoTimestamp(s: string, i: number, rec: LogRecord): number {
  let sec: number;
  // indexOf(…) === i, not startsWith: startsWith reads a match char by char (~3 ns each), indexOf
  // compares natively, and looking further on a miss is cheap (the second changes rarely).
  if (cachedSecond !== '' && s.indexOf(cachedSecond, i) === i) return scanFractionZone(s, i, cachedSecondSec, rec);
  const se = digitsAt(s, i + 17, 2);
  if (se < 0 || se > 60 || s.charCodeAt(i + 16) !== 58) return -1;
  if (cachedMinute !== '' && s.indexOf(cachedMinute, i) === i) {
    sec = cachedMinuteSec + se;
  } else {
    if (s.charCodeAt(i + 4) !== 45 /* - */ || s.charCodeAt(i + 7) !== 45 || s.charCodeAt(i + 13) !== 58 /* : */)
      return -1;
    const t = s.charCodeAt(i + 10);
    if (t !== 84 /* T */ && t !== 32) return -1;
    const y = digitsAt(s, i, 4),
      mo = digitsAt(s, i + 5, 2),
      d = digitsAt(s, i + 8, 2);
    const h = digitsAt(s, i + 11, 2),
      mi = digitsAt(s, i + 14, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) return -1;
    cachedMinute = flat(s.slice(i, i + 16));
    cachedMinuteSec = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60;
    sec = cachedMinuteSec + se;
  }
  cachedSecond = flat(s.slice(i, i + 19));
  cachedSecondSec = sec;
  return scanFractionZone(s, i, sec, rec);
}

/** A copy that does not keep the (512 KiB) chunk string it was sliced from alive. */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** The `.fff` fraction and `Z`/offset after `YYYY-MM-DDTHH:MM:SS` at s[i]. */
function scanFractionZone(s: string, i: number, sec: number, rec: LogRecord): number {
  let j = i + 19;
  if (s.charCodeAt(j) === 46 /* . */) {
    j = fraction(s, j + 1, rec);
  } else {
    rec.nsec = 0;
    rec.digits = 0;
  }
  const z = s.charCodeAt(j);
  if (z === 90 /* Z */) {
    j++;
  } else if (z === 43 /* + */ || z === 45 /* - */) {
    const oh = digitsAt(s, j + 1, 2),
      om = digitsAt(s, j + 4, 2);
    if (oh < 0 || om < 0 || s.charCodeAt(j + 3) !== 58) return -1;
    const off = oh * 3600 + om * 60;
    sec += z === 43 ? -off : off; // local = UTC + offset
    j += 6;
  } else {
    return -1;
  }
  rec.sec = sec;
  rec.hasTime = true;
  return j;
}

/**
 * Context for timestamps that lack a date (wezterm's `HH:MM:SS.mmm`), a year (tracing 0.2's
 * chrono `Apr 21 22:41:09.512`, local time) or an epoch (tracing's Uptime `0.123456789s`).
 * The date comes from the caller (default: the file's modification time) and rolls forward
 * at midnight.
 */
export class PartialTimeContext {
  private daySec: number;
  private lastTod = -1;
  readonly year: number;

  constructor(baseDate: Date) {
    this.daySec = Math.floor(baseDate.getTime() / 86_400_000) * 86400;
    this.year = baseDate.getUTCFullYear();
  }

  /** `HH:MM:SS.fff` at s[i], date from the context (UTC). */
  scanTimeOfDay(s: string, i: number, rec: LogRecord): number {
    if (s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) return -1;
    const h = digitsAt(s, i, 2),
      mi = digitsAt(s, i + 3, 2),
      se = digitsAt(s, i + 6, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return -1;
    let j = i + 8;
    if (s.charCodeAt(j) === 46) j = fraction(s, j + 1, rec);
    else {
      rec.nsec = 0;
      rec.digits = 0;
    }
    const tod = h * 3600 + mi * 60 + se;
    // A jump back by more than 12 h is midnight passing, not lines out of order.
    if (this.lastTod >= 0 && tod < this.lastTod - 43200) this.daySec += 86400;
    this.lastTod = tod;
    rec.sec = this.daySec + tod;
    rec.hasTime = true;
    return j;
  }

  private cachedKey = '';
  private cachedHourSec = 0;

  /** chrono local `Mon DD HH:MM:SS.fff` at s[i]; year from the context, zone from the process (TZ). */
  scanChronoLocal(s: string, i: number, rec: LogRecord): number {
    if (s.charCodeAt(i + 3) !== 32 || s.charCodeAt(i + 9) !== 58 || s.charCodeAt(i + 12) !== 58) return -1;
    const mon = MONTHS.indexOf(s.slice(i, i + 3));
    const d = digitsAt(s, i + 4, 2),
      h = digitsAt(s, i + 7, 2),
      mi = digitsAt(s, i + 10, 2),
      se = digitsAt(s, i + 13, 2);
    if (mon < 0 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return -1;
    const key = s.slice(i, i + 9);
    if (key !== this.cachedKey) {
      this.cachedKey = key;
      this.cachedHourSec = new Date(this.year, mon, d, h, 0, 0).getTime() / 1000;
    }
    let j = i + 15;
    if (s.charCodeAt(j) === 46) j = fraction(s, j + 1, rec);
    else {
      rec.nsec = 0;
      rec.digits = 0;
    }
    rec.sec = this.cachedHourSec + mi * 60 + se;
    rec.hasTime = true;
    return j;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** tracing's Uptime `{:4}.{:09}s` (leading spaces allowed) at s[i]: seconds since process start. */
export function scanUptime(s: string, i: number, rec: LogRecord): number {
  while (s.charCodeAt(i) === 32) i++;
  let sec = 0;
  const start = i;
  for (const len = s.length; i < len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) break;
    sec = sec * 10 + c;
  }
  // More than 15 digits is not an uptime a process reaches, and would not be an exact double.
  if (i === start || i - start > 15 || s.charCodeAt(i) !== 46) return -1;
  i = fraction(s, i + 1, rec);
  if (s.charCodeAt(i) !== 115 /* s */) return -1;
  rec.sec = sec;
  rec.hasTime = true;
  return i + 1;
}
