/** Char-code scanners the line envelopes share (no regex runs per line). */
import type { Level, LogRecord } from './record.js';

// Character codes the scanners compare with. Module constants: V8 folds them like literals
// (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_D = 68,
  C_E = 69,
  C_I = 73,
  C_T = 84,
  C_W = 87;

/**
 * Level at s[i]: returns the level constant, or undefined. Length is LEVEL_LEN[level].
 * Char by char: startsWith costs a native call (~30 ns) even for five chars.
 */
export function levelAt(s: string, i: number): Level | undefined {
  switch (s.charCodeAt(i)) {
    case C_T: // TRACE
      return s.charCodeAt(i + 1) === 82 &&
        s.charCodeAt(i + 2) === 65 &&
        s.charCodeAt(i + 3) === 67 &&
        s.charCodeAt(i + 4) === C_E
        ? 'TRACE'
        : undefined;
    case C_D: // DEBUG
      return s.charCodeAt(i + 1) === C_E &&
        s.charCodeAt(i + 2) === 66 &&
        s.charCodeAt(i + 3) === 85 &&
        s.charCodeAt(i + 4) === 71
        ? 'DEBUG'
        : undefined;
    case C_I: // INFO
      return s.charCodeAt(i + 1) === 78 && s.charCodeAt(i + 2) === 70 && s.charCodeAt(i + 3) === 79
        ? 'INFO'
        : undefined;
    case C_W: // WARN
      return s.charCodeAt(i + 1) === 65 && s.charCodeAt(i + 2) === 82 && s.charCodeAt(i + 3) === 78
        ? 'WARN'
        : undefined;
    case C_E: // ERROR
      return s.charCodeAt(i + 1) === 82 &&
        s.charCodeAt(i + 2) === 82 &&
        s.charCodeAt(i + 3) === 79 &&
        s.charCodeAt(i + 4) === 82
        ? 'ERROR'
        : undefined;
    default:
      return undefined;
  }
}

/**
 * levelFieldsAt(s, tsEnd + 11) when `","level":"` is at s[tsEnd]: the three literals in one
 * native compare.
 */
export function levelFieldsAfter(s: string, tsEnd: number): Level | undefined {
  switch (s.charCodeAt(tsEnd + 11)) {
    case C_T:
      return s.indexOf('","level":"TRACE","fields":{', tsEnd) === tsEnd ? 'TRACE' : undefined;
    case C_D:
      return s.indexOf('","level":"DEBUG","fields":{', tsEnd) === tsEnd ? 'DEBUG' : undefined;
    case C_I:
      return s.indexOf('","level":"INFO","fields":{', tsEnd) === tsEnd ? 'INFO' : undefined;
    case C_W:
      return s.indexOf('","level":"WARN","fields":{', tsEnd) === tsEnd ? 'WARN' : undefined;
    case C_E:
      return s.indexOf('","level":"ERROR","fields":{', tsEnd) === tsEnd ? 'ERROR' : undefined;
    default:
      return undefined;
  }
}

/** tracing JSON: levelAt(s, i) when `","fields":{` follows the level (one native compare for both). */
export function levelFieldsAt(s: string, i: number): Level | undefined {
  switch (s.charCodeAt(i)) {
    case C_T:
      return s.indexOf('TRACE","fields":{', i) === i ? 'TRACE' : undefined;
    case C_D:
      return s.indexOf('DEBUG","fields":{', i) === i ? 'DEBUG' : undefined;
    case C_I:
      return s.indexOf('INFO","fields":{', i) === i ? 'INFO' : undefined;
    case C_W:
      return s.indexOf('WARN","fields":{', i) === i ? 'WARN' : undefined;
    case C_E:
      return s.indexOf('ERROR","fields":{', i) === i ? 'ERROR' : undefined;
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
  rec.spansId = -1;
}

/** tracing JSON's `threadId` as the record's thread: `ThreadId(7)` → "7"; anything else as it is. */
export function threadIdText(threadId: string): string {
  return threadId.replace(/^ThreadId\((\d+)\)$/, '$1');
}
