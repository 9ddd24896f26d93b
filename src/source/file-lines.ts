/**
 * Reads a file as physical lines, streaming in 512 KiB reads split in 64 KiB pieces: memory
 * does not grow with the file. Bytes are split on '\n' before decoding (a UTF-8 sequence never
 * contains 0x0a), so a multi-byte character is never cut. A piece that is not pure ASCII is
 * decoded latin1 and its lines handed out raw (LogRecord.raw: one char per byte, UTF-8 decoded
 * only where a string is kept, by keepText); NUL bytes pass through.
 */
import { isAscii } from 'node:buffer';
import { open } from 'node:fs/promises';

export interface LineSink {
  /**
   * One physical line without its '\n'. offset = byte offset of its first byte; lineNo is
   * 1-based. raw: the text holds the line's bytes one char per byte, UTF-8 not decoded (see
   * LogRecord.raw); else the line is pure ASCII. Either way char index = byte index.
   * escapes: false when the line holds no ESC byte (no ANSI colour to strip; known per piece).
   */
  line(text: string, offset: number, lineNo: number, raw: boolean, escapes: boolean): void;
  /** A line longer than the limit: skipped, never buffered whole. */
  oversize(offset: number, lineNo: number, bytes: number): void;
}

export interface ReadStats {
  bytes: number;
  lines: number;
}

export interface ReadOptions {
  maxLineBytes: number;
  chunkBytes?: number;
  /** Called after each chunk with bytes read so far. */
  onProgress?: (bytes: number) => void;
  /**
   * Called after each chunk; a returned promise is awaited before the next one is processed
   * (a slower consumer, e.g. a trace exporter's full queue, holds the reader back).
   */
  pace?: () => Promise<void> | null;
  /**
   * Called with each piece of the file before its lines are handed out: `offset` is the byte
   * offset of its first byte. The bytes are only valid during the call (buffers are reused).
   * The parse worker ships them to the main thread, which slices messages out of them.
   */
  onPiece?: (bytes: Buffer, offset: number) => void;
}

/** Bytes per read: few reads (each costs a round trip through libuv's thread pool). */
export const DEFAULT_CHUNK_BYTES = 512 * 1024;
/**
 * Bytes per push into the splitter, i.e. per chunk string that lines are sliced from. A 1 MiB
 * string lands in V8's large-object space, freed only by full GCs: ~20 % more CPU and +25 MB
 * peak RSS on the 1M-line bench file than 64 KiB strings, which the young generation collects.
 */
export const SPLIT_BYTES = 64 * 1024;

export async function readFileLines(path: string, sink: LineSink, opts: ReadOptions): Promise<ReadStats> {
  const fh = await open(path, 'r');
  try {
    const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    // Two buffers: the next read runs while the current chunk is split and processed.
    const buffers = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
    const splitter = new LineSplitter(sink, opts.maxLineBytes);
    let pos = 0;
    let which = 0;
    let next = fh.read(buffers[0], 0, chunkBytes, 0);
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const chunk = buffers[which];
      pos += bytesRead;
      which ^= 1;
      next = fh.read(buffers[which], 0, chunkBytes, pos);
      const onPiece = opts.onPiece;
      const chunkStart = pos - bytesRead;
      for (let at = 0; at < bytesRead; at += SPLIT_BYTES) {
        const piece = chunk.subarray(at, Math.min(bytesRead, at + SPLIT_BYTES));
        onPiece?.(piece, chunkStart + at);
        splitter.push(piece);
      }
      opts.onProgress?.(pos);
      const wait = opts.pace?.();
      if (wait) await wait;
    }
    splitter.end();
    return { bytes: pos, lines: splitter.lineNo };
  } finally {
    await fh.close();
  }
}

/** Splits pushed byte chunks into lines; keeps an incomplete last line (up to the limit) for the next push. */
export class LineSplitter {
  lineNo = 0;
  /** Byte offset of the first byte not yet handed out. */
  private offset = 0;
  private carry: Buffer | null = null;
  /** Inside an oversize line: bytes skipped so far (-1 = not skipping). */
  private skipped = -1;
  private skipStart = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLineBytes: number,
  ) {}

  push(bytes: Buffer): void {
    let data = bytes;
    if (this.skipped >= 0) {
      const nl = data.indexOf(10);
      if (nl < 0) {
        this.skipped += data.length;
        this.offset += data.length;
        return;
      }
      this.lineNo++;
      this.sink.oversize(this.skipStart, this.lineNo, this.skipped + nl);
      this.skipped = -1;
      this.offset += nl + 1;
      data = data.subarray(nl + 1);
    }
    if (this.carry !== null) {
      // Complete the held line with the head of this chunk (copying only that line, not the chunk).
      const nl = data.indexOf(10);
      if (nl < 0) {
        const held = Buffer.concat([this.carry, data]);
        this.carry = null;
        this.hold(held);
        return;
      }
      const line = Buffer.concat([this.carry, data.subarray(0, nl + 1)]);
      this.carry = null;
      if (line.length - 1 > this.maxLineBytes) {
        this.lineNo++;
        this.sink.oversize(this.offset, this.lineNo, line.length - 1);
        this.offset += line.length;
      } else {
        this.emitLines(line, line.length);
      }
      data = data.subarray(nl + 1);
    }
    const lastNl = data.lastIndexOf(10);
    if (lastNl >= 0) this.emitLines(data, lastNl + 1);
    if (lastNl + 1 < data.length) this.hold(Buffer.from(data.subarray(lastNl + 1))); // copy: the caller reuses its buffer
  }

  /** Keeps an incomplete line for the next push, or starts skipping it once it passes the limit. */
  private hold(rest: Buffer): void {
    if (rest.length > this.maxLineBytes) {
      this.skipStart = this.offset;
      this.skipped = rest.length;
      this.offset += rest.length;
    } else {
      this.carry = rest;
    }
  }

  /** End of input: a last line without '\n' is still a line. */
  end(): void {
    if (this.skipped >= 0) {
      this.lineNo++;
      this.sink.oversize(this.skipStart, this.lineNo, this.skipped);
      this.skipped = -1;
    }
    if (this.carry !== null && this.carry.length > 0) {
      const tail = this.carry;
      this.carry = null;
      this.lineOf(tail);
    }
  }

  /** Bytes held for an incomplete last line. */
  get pendingBytes(): number {
    return this.carry?.length ?? 0;
  }

  /**
   * Byte offset where the next line starts (the held partial line, or the oversize line being
   * skipped): everything before it was handed out. A follower resumes here after a restart.
   */
  get lineStart(): number {
    return this.skipped >= 0 ? this.skipStart : this.offset;
  }

  /** Continues a file from a saved position: the next pushed byte is at `offset`, after line `lineNo`. */
  resumeAt(offset: number, lineNo: number): void {
    this.offset = offset;
    this.lineNo = lineNo;
    this.carry = null;
    this.skipped = -1;
  }

  /**
   * Hands out the held partial line as a line now (live follow, `--flush-partial-after`): its
   * rest, if it ever comes, becomes a line of its own. Returns whether there was one.
   */
  flushPartial(): boolean {
    if (this.carry === null || this.carry.length === 0) return false;
    const tail = this.carry;
    this.carry = null;
    this.lineOf(tail);
    return true;
  }

  /** Hands out a held tail as a line, in the same form as emitLines' lines (raw unless ASCII). */
  private lineOf(tail: Buffer): void {
    const raw = !isAscii(tail);
    this.lineNo++;
    this.sink.line(tail.toString(raw ? 'latin1' : 'ascii'), this.offset, this.lineNo, raw, tail.includes(27));
    this.offset += tail.length;
  }

  private emitLines(data: Buffer, end: number): void {
    const view = data.subarray(0, end);
    // ASCII decodes fastest; otherwise latin1 (one char per byte, so char index = byte offset,
    // exact even for invalid UTF-8) and the lines go out raw. Decoding UTF-8 costs ~1.4 ns a
    // byte against latin1's 0.1: on a modern relay's log, where most lines carry a `µ`, per-line
    // UTF-8 decoding was a sixth of replay's time (docs/performance.md).
    const raw = !isAscii(view);
    const text = raw ? view.toString('latin1') : view.toString('ascii');
    const escapes = view.includes(27); // one memchr here spares each line its own search
    const sink = this.sink;
    const max = this.maxLineBytes;
    const base = this.offset;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.lineNo++;
      if (nl - start > max) sink.oversize(base + start, this.lineNo, nl - start);
      else sink.line(text.slice(start, nl), base + start, this.lineNo, raw, escapes);
      start = nl + 1;
    }
    this.offset += end;
  }
}
