/**
 * `run --stdin`: lines piped in (`relay 2>&1 | pollscope run --stdin`). No checkpoint (a pipe
 * cannot be re-read); the same quiet-time flushes as a followed file.
 */
import type { Readable } from 'node:stream';
import type { RecordAssembler } from '../parse/record-assembler.js';
import { LineSplitter } from './file-lines.js';

export const STDIN_NAME = '<stdin>';

export class StdinSource {
  private readonly splitter: LineSplitter;
  private lastDataAt = Date.now();
  ended = false;

  constructor(
    private readonly input: Readable,
    readonly relay: string,
    private readonly lines: RecordAssembler,
    maxLineBytes: number,
    private readonly opts: { flushRecordAfterMs: number; flushPartialAfterMs: number | null },
    /** afterChunk: lines read at wall time readAtMs went through; firstLogSec as TailerHost.afterChunk. */
    private readonly hooks: { afterChunk(readAtMs: number, firstLogSec: number): void; end(): void },
  ) {
    this.splitter = new LineSplitter(lines, maxLineBytes);
    input.on('data', (chunk: Buffer) => {
      this.lastDataAt = Date.now();
      this.splitter.push(chunk);
      this.hooks.afterChunk(this.lastDataAt, lines.takeFirstLogSec());
    });
    input.on('end', () => {
      this.splitter.end();
      this.lines.flush();
      this.hooks.afterChunk(Date.now(), lines.takeFirstLogSec());
      this.ended = true;
      this.hooks.end();
    });
    input.on('error', () => {
      if (!this.ended) {
        this.ended = true;
        this.hooks.end();
      }
    });
  }

  housekeep(now: number): void {
    if (this.ended) return;
    const quiet = now - this.lastDataAt;
    // What the quiet-time flushes hand over was read at the last data.
    let handedOver = false;
    if (
      this.opts.flushPartialAfterMs !== null &&
      quiet >= this.opts.flushPartialAfterMs &&
      this.splitter.pendingBytes > 0
    ) {
      handedOver = this.splitter.flushPartial();
    }
    if (quiet >= this.opts.flushRecordAfterMs && this.lines.held !== null) {
      this.lines.flush();
      handedOver = true;
    }
    if (handedOver) this.hooks.afterChunk(this.lastDataAt, this.lines.takeFirstLogSec());
  }

  /** Shutdown: the held record goes through; a partial line is dropped (a pipe has no position to resume). */
  stop(): void {
    if (this.ended) return;
    this.input.pause();
    this.lines.flush();
  }
}
