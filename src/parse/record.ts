/**
 * A log record: one logical entry of a log file after its envelope (the logger's layout) was
 * taken apart. Continuation lines of a multi-line message are already folded into `message`.
 *
 * The parser reuses record objects (one per pending line), so a stage that wants to keep
 * something from a record copies the values it needs; it never keeps the record itself.
 */
export interface LogRecord {
  /** Unix seconds of the timestamp (integer), or 0 when the line has no timestamp (hasTime false). */
  sec: number;
  /** Nanoseconds within `sec` (0..999_999_999). Split from `sec` so µs/ns survive (a double holds ~15.9 digits). */
  nsec: number;
  /**
   * Fraction digits the logger wrote (0 = whole seconds, 3 = ms, 6 = µs, 9 = ns).
   * A duration shorter than 10^-digits s cannot be told from 0.
   */
  digits: number;
  /** False for layouts without a timestamp (env_logger `format_timestamp(None)`, `without_time()`). */
  hasTime: boolean;
  /** TRACE | DEBUG | INFO | WARN | ERROR */
  level: Level;
  /** The log target (or the module path, for env_logger <= 0.8 and custom formats). */
  target: string;
  /** Thread id or name when the layout carries one (`ThreadId(07)` → "7", E7's tid column), else "". */
  thread: string;
  /**
   * tracing span context, outermost first, as written: `Poller::wait{timeout=None}:wait{epoll_fd=3}`;
   * "" when none. JSON records are rendered into the same shape.
   */
  spans: string;
  /**
   * The tracing fmt parser's number for a span context it has seen before (its context cache):
   * records with the same spansId >= 0 have equal `spans`, handed out as one shared string.
   * -1 when the layout or the parser's cache gives none. The parse worker keys its string table
   * on it instead of hashing the ~100–200 chars of `spans` per line.
   */
  spansId: number;
  /**
   * Message text, with structured fields appended as ` key=value` when the layout keeps them apart
   * (tracing JSON). Right-trimmed, ANSI stripped; continuation lines joined with "\n".
   */
  message: string;
  /** 1-based number of the record's first physical line in its file. */
  line: number;
  /** Byte offset of the record's first physical line in its file. */
  offset: number;
  /** Physical lines this record spans (1 + continuation lines). */
  lines: number;
  /**
   * The file the record comes from, as positions name it (a path, `<stdin>`; "" when none was
   * given). Set once per file by its RecordAssembler on the record objects it reuses.
   */
  file: string;
  /**
   * The strings of this record hold the line's bytes one char per byte (latin1), not decoded
   * UTF-8: set for lines of a chunk that is not pure ASCII (decoding UTF-8 costs ~10x more than
   * latin1 and most of a modern relay's lines carry a `µ`). Structure characters are ASCII, so
   * parsers and decoders read raw and decoded text alike; a `µ` reads as `\u00c2\u00b5`. Anything
   * kept beyond the record (a peer id, a message shown to people) goes through keepText(), which
   * decodes it. `thread` is the exception: RecordAssembler hands it out decoded.
   */
  raw: boolean;
}

/**
 * A string of a record made fit to keep: decoded from UTF-8 when the record is raw, and a fresh
 * copy either way (a slice would keep the whole chunk string it was cut from alive). Pure ASCII
 * (peer ids, ids, most addresses and thread names) decodes to itself, raw or not: it is copied
 * without the Buffer round trip.
 */
export function keepText(s: string, raw: boolean): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f)
      return raw ? Buffer.from(s, 'latin1').toString('utf8') : Buffer.from(s, 'utf8').toString('utf8');
  }
  return ownCopy(s);
}

/**
 * A copy of `s`, exact for any char, that keeps no string it was sliced from alive: V8 flattens
 * the concatenation into a fresh string before slicing it (~3x cheaper than a Buffer round trip).
 */
export function ownCopy(s: string): string {
  return (' ' + s).slice(1);
}

export type Level = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export function newRecord(): LogRecord {
  return {
    sec: 0,
    nsec: 0,
    digits: 0,
    hasTime: false,
    level: 'TRACE',
    target: '',
    thread: '',
    spans: '',
    spansId: -1,
    message: '',
    line: 0,
    offset: 0,
    lines: 1,
    file: '',
    raw: false,
  };
}

export function copyRecord(from: LogRecord, to: LogRecord): void {
  to.sec = from.sec;
  to.nsec = from.nsec;
  to.digits = from.digits;
  to.hasTime = from.hasTime;
  to.level = from.level;
  to.target = from.target;
  to.thread = from.thread;
  to.spans = from.spans;
  to.message = from.message;
  to.line = from.line;
  to.offset = from.offset;
  to.lines = from.lines;
  to.file = from.file;
  to.raw = from.raw;
}
