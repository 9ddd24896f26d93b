/**
 * Parse worker for `replay --jobs 2+`: reads a file, splits lines and takes envelopes apart
 * (RecordAssembler) on its own core, and hands the records to the main thread in batches
 * (record-batch.ts), which decodes them and runs the reactor model. A file is read whole and in
 * order by one worker, so every stateful step (envelope detection, continuation folding, partial
 * time contexts) sees exactly what the sequential path sees. At most MAX_IN_FLIGHT batches wait
 * for the main thread: the reader stops until one is acknowledged (bounded memory).
 */
import { parentPort } from 'node:worker_threads';
import { DecoderRegistry } from '../decode/registry.js';
import { RecordAssembler, type RecordSink } from '../parse/record-assembler.js';
import type { LogRecord } from '../parse/record.js';
import { readInputLines } from '../source/inputs.js';
import {
  F_DIGITS,
  F_KIND,
  F_LINE,
  F_LINES,
  F_MSG_AT,
  F_MSG_END,
  F_MSG_LEN,
  F_NSEC,
  F_OFFSET,
  F_SEC,
  F_SPANS,
  F_TARGET,
  F_THREAD,
  LEVEL_INDEX,
  ROW_MALFORMED,
  ROW_OVERSIZE,
  ROW_RECORD,
  ROW_WIDTH,
  type MainMessage,
  type WorkerMessage,
} from './record-batch.js';

/** Rows of a pooled row buffer; a batch grows past it only within one piece (64 KiB of short lines). */
const ROWS_PER_BATCH = 16384;
/** File bytes per batch (whole pieces of SPLIT_BYTES); pooled, so the main thread's ack returns them. */
const BATCH_BYTES = 1 << 20;
/** A batch is sent early once its messages hold this many chars (long multi-line records). */
const TEXT_CHARS = 1 << 19;
/** Pooled text buffers: TEXT_CHARS in UTF-16 fits (2 bytes per char) but for one long record. */
const TEXT_BYTES = 3 << 19;
const MAX_IN_FLIGHT = 4;
const MAX_STRINGS = 50_000;

const port = parentPort;
if (port === null) throw new Error('parse-worker runs as a worker thread');

class BatchWriter implements RecordSink {
  private rows = new Float64Array(ROWS_PER_BATCH * ROW_WIDTH);
  private rowCapacity = ROWS_PER_BATCH;
  /** The batch's file bytes: bytesUsed of them, from file offset bytesOffset. */
  private bytes: Buffer = Buffer.from(new ArrayBuffer(BATCH_BYTES));
  private bytesUsed = 0;
  private bytesOffset = 0;
  readonly freeBytes: ArrayBuffer[] = [];
  /** Set once the assembler exists: its messageAt says whether a record's message is its line's tail. */
  assembler: RecordAssembler | null = null;
  private text = '';
  private count = 0;
  private textEnd = 0;
  private readonly ids = new Map<string, number>();
  private newStrings: string[] = [];
  private resetNext = false;
  private readonly registry = new DecoderRegistry();
  private readonly targetDecoded = new Map<string, boolean>();
  private lastTarget: string | null = null;
  private lastTargetDecoded = false;
  /** Row buffers the main thread gave back (transferred with its acknowledgements). */
  readonly freeRows: ArrayBuffer[] = [];
  readonly freeText: ArrayBuffer[] = [];
  private readonly lastStrings = ['', '', '', ''];
  private readonly lastIds = [-1, -1, -1, -1];
  /** String table ids of numbered span contexts (spansTableId), and the last one asked for. */
  private readonly bySpansId = new Map<number, number>();
  private lastSpansKey = -1;
  private lastSpansTableId = -1;
  progress = 0;
  inFlight = 0;
  private release: (() => void) | null = null;

  /**
   * A piece of the file, before its lines reach the assembler: batches end at piece borders, so
   * every line a batch's records come from is in its bytes (but a record held back across the
   * border, whose message then goes as text).
   */
  piece(bytes: Buffer, offset: number): void {
    if (this.bytesUsed + bytes.length > this.bytes.length || this.count >= ROWS_PER_BATCH || this.textEnd >= TEXT_CHARS)
      this.send();
    if (this.bytesUsed === 0) this.bytesOffset = offset;
    if (bytes.length > this.bytes.length) return; // never: pieces are SPLIT_BYTES at most
    bytes.copy(this.bytes, this.bytesUsed);
    this.bytesUsed += bytes.length;
  }

  record(rec: LogRecord): void {
    if (this.count === this.rowCapacity) this.growRows();
    const r = this.rows;
    const b = this.count * ROW_WIDTH;
    // A message that is its line's tail goes as a position in the batch's bytes (no copy); others
    // (folded lines, ANSI, JSON) as text. A record whose target no decoder reads goes without:
    // only decoders read messages (Ingest), and 40 % of a relay's lines are such noise — unless
    // it has a span context, which the span-context decoder reads for any target (a libp2p
    // connection's lines; Compact puts its fields in the message).
    r[b + F_MSG_AT] = -1;
    if (rec.spans.length !== 0 || this.decoded(rec.target)) {
      const at = this.assembler !== null ? this.assembler.messageAt : -1;
      const start = rec.offset + at - this.bytesOffset;
      const len = rec.message.length;
      if (at >= 0 && start >= 0 && start + len <= this.bytesUsed) {
        r[b + F_MSG_AT] = start;
        r[b + F_MSG_LEN] = len;
      } else {
        this.text += rec.message;
        this.textEnd += len;
      }
    }
    r[b + F_KIND] = ROW_RECORD;
    r[b + F_SEC] = rec.sec;
    r[b + F_NSEC] = rec.nsec;
    r[b + F_DIGITS] = rec.digits | (rec.hasTime ? 16 : 0) | (LEVEL_INDEX[rec.level] << 5) | (rec.raw ? 256 : 0);
    r[b + F_TARGET] = this.id(rec.target, 0);
    r[b + F_THREAD] = this.id(rec.thread, 1);
    r[b + F_SPANS] = rec.spansId < 0 ? this.id(rec.spans, 2) : this.spansTableId(rec);
    r[b + F_LINE] = rec.line;
    r[b + F_OFFSET] = rec.offset;
    r[b + F_LINES] = rec.lines;
    r[b + F_MSG_END] = this.textEnd;
    this.count++;
  }

  /** After a read: a full batch goes (inputs read as streams, .gz and pipes, have no pieces). */
  sendWhenFull(): void {
    if (this.count >= ROWS_PER_BATCH || this.textEnd >= TEXT_CHARS) this.send();
  }

  /** More rows than a pooled buffer holds within one piece: a bigger buffer (not pooled). */
  private growRows(): void {
    const grown = new Float64Array(this.rows.length * 2);
    grown.set(this.rows);
    this.rows = grown;
    this.rowCapacity *= 2;
  }

  malformed(line: number, offset: number, reason: string, lines: number): void {
    this.other(ROW_MALFORMED, line, offset, this.id(reason, 3), lines);
  }

  oversize(line: number, offset: number, bytes: number): void {
    this.other(ROW_OVERSIZE, line, offset, bytes, 1);
  }

  private other(kind: number, line: number, offset: number, value: number, lines: number): void {
    if (this.count === this.rowCapacity) this.growRows();
    const r = this.rows;
    const b = this.count * ROW_WIDTH;
    r[b + F_MSG_AT] = -1;
    r[b + F_KIND] = kind;
    r[b + F_TARGET] = value;
    r[b + F_LINE] = line;
    r[b + F_OFFSET] = offset;
    r[b + F_LINES] = lines;
    r[b + F_MSG_END] = this.textEnd;
    this.count++;
  }

  /** Whether a decoder reads this target (the same registry lookup Ingest makes). */
  private decoded(target: string): boolean {
    if (target === this.lastTarget) return this.lastTargetDecoded;
    let known = this.targetDecoded.get(target);
    if (known === undefined) {
      known = this.registry.forTarget(target) !== undefined;
      if (this.targetDecoded.size >= MAX_STRINGS) this.targetDecoded.clear();
      this.targetDecoded.set(target, known);
    }
    this.lastTarget = target;
    this.lastTargetDecoded = known;
    return known;
  }

  /**
   * The string table id of a record's spans when the tracing parser numbered its context
   * (LogRecord.spansId): a Map keyed on that number spares hashing and comparing the ~100–200
   * chars of the spans string. On a libp2p relay's log, where consecutive lines are of different
   * connections, the string lookup was this thread's largest item (~0.2 s of a 1.4 s profile).
   */
  private spansTableId(rec: LogRecord): number {
    const key = rec.spansId;
    if (key === this.lastSpansKey) return this.lastSpansTableId;
    let id = this.bySpansId.get(key);
    if (id === undefined) {
      id = this.id(rec.spans, 2);
      this.bySpansId.set(key, id);
    }
    this.lastSpansKey = key;
    this.lastSpansTableId = id;
    return id;
  }

  /**
   * The string table id of `s`; `slot` (0 target, 1 thread, 2 spans, 3 reason) keeps the last
   * string per field: most records repeat the previous record's target, thread and spans (often
   * ''), and comparing with it spares hashing a fresh slice.
   */
  private id(s: string, slot: number): number {
    const last = this.lastIds[slot];
    if (last >= 0 && s === this.lastStrings[slot]) return last;
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.ids.size;
      // Copy: `s` may be a slice of a whole chunk's string, which the map would keep alive.
      const own = s.length < 256 ? internalized(s) : s;
      this.ids.set(own, id);
      this.newStrings.push(own);
    }
    this.lastStrings[slot] = s;
    this.lastIds[slot] = id;
    return id;
  }

  send(): void {
    if (this.count === 0 && this.newStrings.length === 0) {
      this.bytesUsed = 0;
      return;
    }
    const rows = this.rows.buffer;
    // The text goes as bytes in a transferred buffer: V8's structured clone of a string was the
    // worker's largest cost (~2 ms per batch). Pure ASCII (the usual case) is copied as latin1;
    // otherwise UTF-16 (ucs2), which round-trips any string exactly — raw records' chars
    // 0x80–0xff and decoded ones alike — at copying speed (UTF-8 costs ~1.4 ns a byte to decode).
    // Buffers come back with the acknowledgements and are reused: fresh ones per batch piled up
    // as external memory until a full GC (+90 MB RSS on 1M lines).
    const utf8Length = Buffer.byteLength(this.text, 'utf8');
    const encoding = utf8Length === this.text.length ? 'latin1' : 'ucs2';
    const byteLength = encoding === 'latin1' ? utf8Length : this.text.length * 2;
    const text =
      (byteLength <= TEXT_BYTES ? this.freeText.pop() : undefined) ?? new ArrayBuffer(Math.max(TEXT_BYTES, byteLength));
    const textLength = Buffer.from(text).write(this.text, 0, encoding);
    const msg: WorkerMessage = {
      type: 'batch',
      rows,
      rowCount: this.count,
      text,
      textLength,
      textEncoding: encoding,
      bytes: this.bytes.buffer as ArrayBuffer,
      bytesLength: this.bytesUsed,
      strings: this.newStrings,
      resetStrings: this.resetNext,
      progress: this.progress,
    };
    port!.postMessage(msg, [rows, text, msg.bytes]);
    this.inFlight++;
    const reuse = this.freeRows.pop();
    this.rows = reuse !== undefined ? new Float64Array(reuse) : new Float64Array(ROWS_PER_BATCH * ROW_WIDTH);
    this.rowCapacity = ROWS_PER_BATCH;
    this.bytes = Buffer.from(this.freeBytes.pop() ?? new ArrayBuffer(BATCH_BYTES));
    this.bytesUsed = 0;
    this.count = 0;
    this.text = '';
    this.textEnd = 0;
    this.newStrings = [];
    this.resetNext = false;
    // A log with unbounded distinct strings (span fields with ids) must not grow the tables
    // forever: both sides start over at a batch boundary.
    if (this.ids.size > MAX_STRINGS || this.bySpansId.size > MAX_STRINGS) {
      this.ids.clear();
      this.bySpansId.clear();
      this.lastSpansKey = -1;
      this.lastStrings.fill('');
      this.lastIds.fill(-1);
      this.resetNext = true;
    }
  }

  /** Resolves when fewer than MAX_IN_FLIGHT batches wait for the main thread. */
  room(): Promise<void> | null {
    if (this.inFlight < MAX_IN_FLIGHT) return null;
    return new Promise((resolve) => (this.release = resolve));
  }

  acked(batches: number, buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      // Pooled buffers by their (distinct) sizes; grown ones are left to the GC.
      if (b.byteLength === ROWS_PER_BATCH * ROW_WIDTH * 8) this.freeRows.push(b);
      else if (b.byteLength === TEXT_BYTES) this.freeText.push(b);
      else if (b.byteLength === BATCH_BYTES) this.freeBytes.push(b);
    }
    this.inFlight -= batches;
    if (this.release !== null && this.inFlight < MAX_IN_FLIGHT) {
      const r = this.release;
      this.release = null;
      r();
    }
  }
}

/**
 * s's internalized copy (V8's one string per content, made when s is used as a property key;
 * like any copy it keeps no chunk alive). The parsers hand out one string object per repeated
 * target or span context, which this also turns into a reference to the copy: the string table's
 * Map.get then compares them by reference, not char by char (tracing JSON, 500k lines: `id`
 * 126 → 57 ms of the worker's profile, for ~25 ms here).
 */
function internalized(s: string): string {
  internHolder[s] = 0;
  const own = Object.keys(internHolder)[0];
  delete internHolder[s];
  return own;
}

/**
 * internalized's scratch object: one key at a time, in dictionary mode from the start (an object
 * literal per call cost ~1.2 µs, this ~0.5), without a prototype (`__proto__` is a plain key).
 */
const internHolder = Object.create(null) as Record<string, number>;

let writer: BatchWriter | null = null;

async function parseFile(job: Extract<MainMessage, { type: 'file' }>): Promise<void> {
  const w = new BatchWriter();
  writer = w;
  const assembler = new RecordAssembler(w, new Date(job.baseDateMs), '', true);
  w.assembler = assembler;
  const read = await readInputLines(
    { arg: job.path, path: job.path, regular: true, size: null, mtime: new Date(job.baseDateMs) },
    assembler,
    {
      maxLineBytes: job.maxLineBytes,
      onProgress: (b) => (w.progress = b),
      onPiece: (bytes, offset) => w.piece(bytes, offset),
      // Batches go when full (each postMessage costs ~0.5 ms of this thread); the reader waits
      // here while MAX_IN_FLIGHT of them are still with the main thread.
      pace: () => {
        w.sendWhenFull();
        return w.room();
      },
    },
  );
  assembler.flush();
  w.send();
  const done: WorkerMessage = {
    type: 'done',
    envelope: assembler.envelope?.id ?? null,
    bytes: read.bytes,
    lines: read.lines,
    gzip: read.gzip,
    error: read.error,
  };
  port!.postMessage(done);
}

port.on('message', (m: MainMessage) => {
  if (m.type === 'ack') writer?.acked(m.batches, m.buffers);
  else if (m.type === 'exit') port.close();
  else
    parseFile(m).catch((err: unknown) => {
      const e = err as NodeJS.ErrnoException;
      const failed: WorkerMessage = { type: 'failed', code: e.code ?? null, message: e.message ?? String(err) };
      port.postMessage(failed);
    });
});
