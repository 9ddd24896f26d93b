/** The raw log lines around a recorded position, read back from the file (stall context). */
import { closeSync, openSync, readSync } from 'node:fs';
import type { SourcePos } from '../reactor/observations.js';

/** Raw lines kept around each stall's first line: before it, and from it on. */
export const LINES_BEFORE = 8;
export const LINES_AFTER = 24;
/** Bytes read on each side of a stall's offset, and the longest line kept (longer: cut). */
const READ_WINDOW = 32 * 1024;
const MAX_LINE_CHARS = 400;

/**
 * The raw lines around a position: up to LINES_BEFORE before its line and LINES_AFTER from it
 * on, numbered. Reads the file at the recorded byte offset; null when it cannot (stdin, gone).
 */
export function linesAround(pos: SourcePos): Array<{ n: number; text: string }> | null {
  let fd: number;
  try {
    fd = openSync(pos.file, 'r');
  } catch {
    return null;
  }
  try {
    const from = Math.max(0, pos.offset - READ_WINDOW);
    const buf = Buffer.alloc(pos.offset - from + READ_WINDOW);
    const got = readSync(fd, buf, 0, buf.length, from);
    const before = buf
      .subarray(0, pos.offset - from)
      .toString('utf8')
      .split('\n');
    before.pop(); // the (empty) rest after the newline that ends the line before pos
    if (from > 0) before.shift(); // cut at the window's start
    const afterText = buf.subarray(pos.offset - from, got).toString('utf8');
    const after = afterText.split('\n');
    if (got === buf.length)
      after.pop(); // cut at the window's end
    else if (after[after.length - 1] === '') after.pop();
    const out: Array<{ n: number; text: string }> = [];
    const b = before.slice(-LINES_BEFORE);
    for (let i = 0; i < b.length; i++) out.push({ n: pos.line - b.length + i, text: cut(b[i]) });
    const a = after.slice(0, LINES_AFTER);
    for (let i = 0; i < a.length; i++) out.push({ n: pos.line + i, text: cut(a[i]) });
    return out;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function cut(line: string): string {
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  return l.length > MAX_LINE_CHARS ? l.slice(0, MAX_LINE_CHARS) + '…' : l;
}
