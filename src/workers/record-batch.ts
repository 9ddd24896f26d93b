/**
 * The compact form in which a parse worker hands records to the main thread: one Float64Array
 * of fixed-width rows (numbers only), the file bytes the batch's lines came from, and the
 * messages that are not their line's tail one after the other as text, all transferred (not
 * copied) with postMessage. The receiver decodes bytes and text once each, then slices the
 * messages out; repeated strings (targets, threads, spans, reasons) go by number, each new one
 * sent once in the batch that first uses it.
 */
import type { Level, LogRecord } from '../parse/record.js';

/** Row kinds. */
export const ROW_RECORD = 1;
export const ROW_MALFORMED = 2;
export const ROW_OVERSIZE = 3;

/** Row layout (Float64 slots): exact for integers up to 2^53 (byte offsets of any real file). */
export const F_KIND = 0;
export const F_SEC = 1;
export const F_NSEC = 2;
export const F_DIGITS = 3; // record: digits | hasTime << 4 | level << 5 | raw << 8
export const F_TARGET = 4; // record: target string id; malformed: reason string id; oversize: bytes
export const F_THREAD = 5;
export const F_SPANS = 6;
export const F_LINE = 7;
export const F_OFFSET = 8;
export const F_LINES = 9;
export const F_MSG_END = 10; // end of the message in the batch's text (start = previous row's end)
/** Where the message starts in the batch's bytes (then F_MSG_LEN chars long); -1: it is in the text. */
export const F_MSG_AT = 11;
export const F_MSG_LEN = 12;
export const ROW_WIDTH = 13;

export const LEVELS: readonly Level[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
export const LEVEL_INDEX: Readonly<Record<Level, number>> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** Worker → main. */
export type WorkerMessage =
  | {
      type: 'batch';
      rows: ArrayBuffer;
      rowCount: number;
      /** The records' messages, one after the other, encoded (F_MSG_END: char offsets in the decoded text). */
      text: ArrayBuffer;
      textLength: number;
      textEncoding: 'latin1' | 'ucs2';
      /**
       * The file's bytes the batch's lines came from (from byte `bytesOffset` of the file), for
       * the messages that are their line's tail (F_MSG_AT): decoded once, then sliced.
       */
      bytes: ArrayBuffer;
      bytesLength: number;
      /** Strings first used in this batch; their ids continue the table. */
      strings: string[];
      /** The string table starts over with this batch (before its `strings`). */
      resetStrings: boolean;
      /** Input bytes read so far. */
      progress: number;
    }
  | {
      type: 'done';
      envelope: string | null;
      bytes: number;
      lines: number;
      gzip: boolean;
      error: string | null;
    }
  | { type: 'failed'; code: string | null; message: string };

/** Main → worker. */
export type MainMessage =
  | {
      type: 'file';
      path: string;
      baseDateMs: number;
      maxLineBytes: number;
    }
  /**
   * The main thread finished `batches` batches: the worker may have as many more in flight. Their
   * buffers come back for reuse (told apart by size).
   */
  | { type: 'ack'; batches: number; buffers: ArrayBuffer[] }
  | { type: 'exit' };

/** Reads rows back into one reused LogRecord (the model never keeps records, see record.ts). */
export function fillRecord(
  rec: LogRecord,
  rows: Float64Array,
  base: number,
  strings: readonly string[],
  message: string,
  spansIdBase: number,
): void {
  const packed = rows[base + F_DIGITS];
  rec.sec = rows[base + F_SEC];
  rec.nsec = rows[base + F_NSEC];
  rec.digits = packed & 15;
  rec.hasTime = (packed & 16) !== 0;
  rec.level = LEVELS[(packed >> 5) & 7];
  rec.raw = (packed & 256) !== 0;
  rec.target = strings[rows[base + F_TARGET]];
  rec.thread = strings[rows[base + F_THREAD]];
  rec.spans = strings[rows[base + F_SPANS]];
  rec.spansId = spansIdBase + rows[base + F_SPANS];
  rec.message = message;
  rec.line = rows[base + F_LINE];
  rec.offset = rows[base + F_OFFSET];
  rec.lines = rows[base + F_LINES];
}
