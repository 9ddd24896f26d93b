/**
 * Physical lines → log records. Detects the file's envelope from its first matching lines
 * (a file may start with non-log lines and may mix layouts, so every layout stays available as
 * a fallback), strips ANSI colour and trailing blanks, and folds lines that match no layout into
 * the record before them (backtraces, indented continuations, println! output).
 */
import type { LineSink } from '../source/file-lines.js';
import { ENVELOPES, type Envelope } from './envelopes.js';
import { tracingJson } from './envelope-json.js';
import { keepText, newRecord, type LogRecord } from './record.js';
import { PartialTimeContext } from './timestamp.js';

/** Receives complete records and lines that could not be read. */
export interface RecordSink {
  record(rec: LogRecord): void;
  /** Physical lines that are not part of any record (no layout matched and no record before them). */
  malformed(line: number, offset: number, reason: string, lines: number): void;
  oversize(line: number, offset: number, bytes: number): void;
}

const DETECT_LINES = 50;
/** A record stops growing past this (a runaway multi-line message must not hold the whole file). */
const MAX_RECORD_CHARS = 64 * 1024;
// eslint-disable-next-line no-control-regex -- ANSI colour sequences begin with ESC
const ANSI = /\x1b\[[0-9;]*m/g;

export class RecordAssembler implements LineSink {
  private primary: Envelope | null = null;
  private readonly matches = new Map<Envelope, number>();
  private matched = 0;
  private pending: LogRecord = newRecord();
  private spare: LogRecord = newRecord();
  private hasPending = false;
  private readonly ctx: PartialTimeContext;
  /** Log time of the first timed record handed out since the last takeFirstLogSec() (NaN: none). */
  private firstLogSec = Number.NaN;

  /**
   * While sink.record() runs (trackMessageAt on): where the handed-out record's message starts
   * in its physical line — the message is then exactly that line's chars from there on, so a
   * reader holding the line's bytes can slice it (the parse worker's batches) —, or -1 when it
   * is not (continuation lines folded in, ANSI stripped, a JSON record's rebuilt text).
   */
  messageAt = -1;
  private pendingMessageAt = -1;

  /**
   * file: the name every record of this reader carries (`LogRecord.file`): set once here on the
   * two record objects it reuses, so the lines cost nothing for it.
   */
  constructor(
    private readonly sink: RecordSink,
    baseDate: Date,
    readonly file = '',
    private readonly trackMessageAt = false,
  ) {
    this.ctx = new PartialTimeContext(baseDate);
    this.pending.file = file;
    this.spare.file = file;
  }

  /** The layout most lines matched (null until one line matched). */
  get envelope(): Envelope | null {
    return this.primary ?? this.bestSoFar();
  }

  line(line: string, offset: number, lineNo: number, raw = false, escapes = true): void {
    let text = line;
    let end = text.length;
    let c = text.charCodeAt(end - 1);
    while (c === 32 || c === 13 || c === 9) c = text.charCodeAt(--end - 1);
    if (end !== text.length) text = text.slice(0, end);
    let plain = true;
    if (escapes && text.indexOf('\x1b') >= 0) {
      text = text.replace(ANSI, '');
      plain = false;
    }

    const rec = this.spare;
    rec.raw = raw;
    let parsed: Envelope | null;
    try {
      parsed = this.parse(text, rec);
    } catch (err) {
      // A layout parser that throws on some input is a bug of ours; the line is still counted, never lost.
      this.sink.malformed(lineNo, offset, `layout parser error: ${(err as Error).message}`, 1);
      return;
    }
    if (parsed !== null) {
      if (raw && rec.thread !== '') rec.thread = this.threadText(rec.thread);
      rec.line = lineNo;
      rec.offset = offset;
      rec.lines = 1;
      this.flush();
      if (this.trackMessageAt) {
        // Every layout but JSON cuts the message as the rest of the line (checked once here
        // rather than compared per line); a JSON record's text is rebuilt from its fields, and
        // is never the line's tail but for contrived escapes: not compared (endsWith flattened
        // each message, ~60 ns a line).
        this.pendingMessageAt = !plain || parsed === tracingJson ? -1 : text.length - rec.message.length;
      }
      this.spare = this.pending;
      this.pending = rec;
      this.hasPending = true;
      return;
    }
    if (this.hasPending && this.primary?.id !== 'tracing_json') {
      const p = this.pending;
      p.lines++;
      this.pendingMessageAt = -1;
      if (p.message.length < MAX_RECORD_CHARS) p.message += '\n' + sameForm(text, raw, p.raw);
      return;
    }
    this.sink.malformed(lineNo, offset, text === '' ? 'empty line' : 'matches no known log layout', 1);
  }

  /** Last raw thread name and its decoded form: a thread name is kept (a model key, a report row). */
  private rawThread = '';
  private threadDecoded = '';

  private threadText(thread: string): string {
    if (thread !== this.rawThread) {
      this.rawThread = thread;
      this.threadDecoded = keepText(thread, true);
    }
    return this.threadDecoded;
  }

  oversize(offset: number, lineNo: number, bytes: number): void {
    this.sink.oversize(lineNo, offset, bytes);
  }

  /**
   * The record held back for possible continuation lines (null when none): a live follower
   * flushes it after a quiet time and checkpoints its offset, not past it.
   */
  get held(): Readonly<LogRecord> | null {
    return this.hasPending ? this.pending : null;
  }

  /** Hands out the last record. Call at end of input. */
  flush(): void {
    if (this.hasPending) {
      this.hasPending = false;
      const rec = this.pending;
      if (rec.hasTime && Number.isNaN(this.firstLogSec)) this.firstLogSec = rec.sec + rec.nsec / 1e9;
      this.messageAt = this.pendingMessageAt;
      this.sink.record(rec);
    }
  }

  /**
   * Log time (unix seconds) of the first timed record handed out since the last call, NaN when
   * none, and starts over. A live reader calls it after each chunk it read: the chunk's oldest
   * line against the wall time it was read shows how late lines reach us (the watchdog's clock).
   */
  takeFirstLogSec(): number {
    const sec = this.firstLogSec;
    this.firstLogSec = Number.NaN;
    return sec;
  }

  /** The layout that read the line into `rec`, or null. */
  private parse(text: string, rec: LogRecord): Envelope | null {
    const primary = this.primary;
    if (primary !== null && primary.parse(text, rec, this.ctx)) return primary;
    for (const env of ENVELOPES) {
      if (env === primary || !env.parse(text, rec, this.ctx)) continue;
      if (primary === null) this.count(env);
      return env;
    }
    return null;
  }

  private count(env: Envelope): void {
    this.matches.set(env, (this.matches.get(env) ?? 0) + 1);
    if (++this.matched >= DETECT_LINES) this.primary = this.bestSoFar();
  }

  private bestSoFar(): Envelope | null {
    let best: Envelope | null = null;
    let n = 0;
    for (const [env, k] of this.matches)
      if (k > n) {
        best = env;
        n = k;
      }
    return best;
  }
}

/** A continuation line in the form (raw or decoded) of the record it joins: rare, at chunk borders. */
function sameForm(text: string, raw: boolean, recordRaw: boolean): string {
  if (raw === recordRaw) return text;
  return recordRaw ? Buffer.from(text, 'utf8').toString('latin1') : keepText(text, true);
}
