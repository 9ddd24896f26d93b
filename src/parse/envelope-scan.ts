/** Char-code scanners the line envelopes share (no regex runs per line). */
import type { Level, LogRecord } from './record.js';

// Character codes the scanners compare with. Module constants: V8 folds them like literals
// (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_D = 68,
  C_E = 69,
  C_I = 73,
  C_T = 84,
  C_W = 87;

/** Level at s[i]: returns the level constant, or undefined. Length is LEVEL_LEN[level]. */
export function levelAt(s: string, i: number): Level | undefined {
  switch (s.charCodeAt(i)) {
    case C_T:
      return s.startsWith('TRACE', i) ? 'TRACE' : undefined;
    case C_D:
      return s.startsWith('DEBUG', i) ? 'DEBUG' : undefined;
    case C_I:
      return s.startsWith('INFO', i) ? 'INFO' : undefined;
    case C_W:
      return s.startsWith('WARN', i) ? 'WARN' : undefined;
    case C_E:
      return s.startsWith('ERROR', i) ? 'ERROR' : undefined;
    default:
      return undefined;
  }
}

export function levelLength(l: Level): number {
  return l === 'INFO' || l === 'WARN' ? 4 : 5;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32) i++;
  return i;
}

/** Reset the fields a layout may not set. */
export function clear(rec: LogRecord): void {
  rec.hasTime = false;
  rec.sec = 0;
  rec.nsec = 0;
  rec.digits = 0;
  rec.thread = '';
  rec.spans = '';
}
