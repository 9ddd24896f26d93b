/**
 * `replay --jobs 2+`: a parse worker (src/workers/parse-worker.ts) reads and parses a file
 * while the main thread decodes the previous batch and runs the reactor model: two stages on two
 * cores, records handed over as typed batches (src/workers/record-batch.ts). Both stages run
 * the file start to end in order with the same code as the sequential path, so the report,
 * stalls, metrics and trace ids are the same by construction (test/replay-parallel.test.ts
 * compares them on every fixture). docs/replay.md says why the file is not cut into byte ranges.
 */
import { isAscii } from 'node:buffer';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RecordSink } from './parse/record-assembler.js';
import { newRecord } from './parse/record.js';
import { SPLIT_BYTES } from './source/file-lines.js';
import type { InputReadStats } from './source/inputs.js';
import {
  F_KIND,
  F_LINE,
  F_LINES,
  F_MSG_AT,
  F_MSG_END,
  F_MSG_LEN,
  F_OFFSET,
  F_TARGET,
  fillRecord,
  ROW_MALFORMED,
  ROW_RECORD,
  ROW_WIDTH,
  type MainMessage,
  type WorkerMessage,
} from './workers/record-batch.js';

/** Room for one string table's ids in spansIdBase (the worker resets its table before 2^32 strings). */
const SPANS_ID_GENERATION = 2 ** 32;

/** Below this a file is parsed on the main thread: a worker's start-up (~30 ms) would cost more. */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;

/** The compiled worker (tests run the TypeScript sources; the worker always runs from dist/). */
function workerUrl(): URL {
  const here = new URL('./workers/parse-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../dist/workers/parse-worker.js', import.meta.url);
}

export interface ParsedFile extends InputReadStats {
  envelope: string | null;
}

/** One parse worker, reused for the files of a run (in order). */
export class ParseWorker {
  // A bounded young generation keeps the worker's heap (one more in the process) from adding to
  // RSS; at 4–8 MB the worker spent a quarter to a third of its time in GC (docs/performance.md).
  private readonly worker = new Worker(workerUrl(), { resourceLimits: { maxYoungGenerationSizeMb: 16 } });
  private strings: string[] = [];
  /**
   * Records rebuilt here carry spansId = this + their spans' string table id: a string fit to
   * keep, numbered apart from the tracing parser's context numbers and from the string table
   * before its last reset.
   */
  private spansIdBase = 2 ** 40;

  /**
   * Parses `path` in the worker; its records go to `sink` in file order. `pace` (a slow
   * exporter) and the main thread's own speed hold the worker back through acknowledgements.
   */
  parse(
    path: string,
    baseDate: Date,
    maxLineBytes: number,
    sink: RecordSink,
    hooks: { progress(bytes: number): void; pace?: () => Promise<void> | null },
  ): Promise<ParsedFile> {
    const worker = this.worker;
    const rec = newRecord();
    rec.file = path; // set once: every record rebuilt from this file's batches carries it
    this.strings = []; // each file's batches number their strings from 0
    this.spansIdBase += SPANS_ID_GENERATION;
    return new Promise<ParsedFile>((resolve, reject) => {
      // Batches are handled one at a time, in order, even while a pace promise is pending.
      let chain: Promise<void> = Promise.resolve();
      // Batches received and not handled yet; batches handled and not acknowledged yet (with
      // their buffers, which go back for reuse: no allocation per batch). Acknowledgements go
      // two batches at a time (a postMessage costs this thread ~0.3 ms), or at once when no
      // batch waits here (the worker may be waiting for room).
      let waiting = 0;
      let handled = 0;
      let buffers: ArrayBuffer[] = [];
      const acknowledge = (): void => {
        const ack: MainMessage = { type: 'ack', batches: handled, buffers };
        worker.postMessage(ack, buffers);
        handled = 0;
        buffers = [];
      };
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === 'batch') waiting++;
        chain = chain
          .then(async () => {
            if (m.type === 'batch') {
              waiting--;
              this.apply(m, sink, rec);
              hooks.progress(m.progress);
              const wait = hooks.pace?.();
              if (wait) await wait;
              handled++;
              buffers.push(m.rows, m.text, m.bytes);
              if (handled >= 2 || waiting === 0) acknowledge();
              return;
            }
            cleanup();
            if (m.type === 'done') resolve({ ...m });
            else reject(Object.assign(new Error(m.message), { code: m.code ?? undefined }));
          })
          .catch((err: unknown) => {
            cleanup();
            reject(err instanceof Error ? err : new Error(String(err)));
          });
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      // A worker that ends without 'done' (killed, out of memory) must not leave replay waiting.
      const onExit = (code: number): void =>
        onError(new Error(`parse worker exited (code ${code}) before the end of ${path}`));
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const job: MainMessage = { type: 'file', path, baseDateMs: baseDate.getTime(), maxLineBytes };
      worker.postMessage(job);
    });
  }

  private apply(m: Extract<WorkerMessage, { type: 'batch' }>, sink: RecordSink, rec: ReturnType<typeof newRecord>) {
    if (m.resetStrings) {
      this.strings = [];
      this.spansIdBase += SPANS_ID_GENERATION;
    }
    const strings = this.strings;
    const spansIdBase = this.spansIdBase;
    for (const s of m.strings) strings.push(s);
    const rows = new Float64Array(m.rows);
    const text = Buffer.from(m.text, 0, m.textLength).toString(m.textEncoding);
    const lines = new BytesWindow(Buffer.from(m.bytes, 0, m.bytesLength));
    let msgStart = 0;
    for (let i = 0, b = 0; i < m.rowCount; i++, b += ROW_WIDTH) {
      const kind = rows[b + F_KIND];
      const msgEnd = rows[b + F_MSG_END];
      if (kind === ROW_RECORD) {
        const at = rows[b + F_MSG_AT];
        if (at >= 0) {
          fillRecord(rec, rows, b, strings, lines.slice(at, at + rows[b + F_MSG_LEN]), spansIdBase);
          if (lines.raw) rec.raw = true;
        } else fillRecord(rec, rows, b, strings, text.slice(msgStart, msgEnd), spansIdBase);
        sink.record(rec);
      } else if (kind === ROW_MALFORMED) {
        sink.malformed(rows[b + F_LINE], rows[b + F_OFFSET], strings[rows[b + F_TARGET]], rows[b + F_LINES]);
      } else {
        sink.oversize(rows[b + F_LINE], rows[b + F_OFFSET], rows[b + F_TARGET]);
      }
      msgStart = msgEnd;
    }
  }

  async close(): Promise<void> {
    const bye: MainMessage = { type: 'exit' };
    this.worker.postMessage(bye);
    await this.worker.terminate();
  }
}

/**
 * A batch's file bytes as strings, decoded a 64 KiB window at a time when a message is sliced
 * from it: a whole 1 MiB batch as one string would land in V8's large-object space, freed only
 * by full GCs (see SPLIT_BYTES in file-lines.ts). latin1 (raw) unless the window is pure ASCII.
 */
class BytesWindow {
  private start = -1;
  private text = '';
  /** Whether the last slice is raw (LogRecord.raw): its bytes were decoded latin1. */
  raw = false;
  private windowRaw = false;

  constructor(private readonly bytes: Buffer) {}

  slice(from: number, to: number): string {
    const w = from - (from % SPLIT_BYTES);
    if (to > w + SPLIT_BYTES) {
      // a line across two windows: decoded alone
      const view = this.bytes.subarray(from, to);
      this.raw = !isAscii(view);
      return view.toString(this.raw ? 'latin1' : 'ascii');
    }
    if (w !== this.start) {
      const view = this.bytes.subarray(w, Math.min(this.bytes.length, w + SPLIT_BYTES));
      this.windowRaw = !isAscii(view);
      this.text = view.toString(this.windowRaw ? 'latin1' : 'ascii');
      this.start = w;
    }
    this.raw = this.windowRaw;
    return this.text.slice(from - w, to - w);
  }
}
