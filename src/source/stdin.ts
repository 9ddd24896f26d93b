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
    private readonly hooks: { beforeChunk(): void; afterChunk(readAtMs: number): void; end(): void },
  ) {
    this.splitter = new LineSplitter(lines, maxLineBytes);
    input.on('data', (chunk: Buffer) => {
      this.lastDataAt = Date.now();
      this.hooks.beforeChunk();
      this.splitter.push(chunk);
      this.hooks.afterChunk(this.lastDataAt);
    });
    input.on('end', () => {
      this.hooks.beforeChunk();
      this.splitter.end();
      this.lines.flush();
      this.hooks.afterChunk(Date.now());
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
    if (
      this.opts.flushPartialAfterMs !== null &&
      quiet >= this.opts.flushPartialAfterMs &&
      this.splitter.pendingBytes > 0
    ) {
      this.hooks.beforeChunk();
      this.splitter.flushPartial();
    }
    if (quiet >= this.opts.flushRecordAfterMs && this.lines.held !== null) {
      this.hooks.beforeChunk();
      this.lines.flush();
      this.hooks.afterChunk(this.lastDataAt);
    }
  }

  /** Shutdown: the held record goes through; a partial line is dropped (a pipe has no position to resume). */
  stop(): void {
    if (this.ended) return;
    this.input.pause();
    this.hooks.beforeChunk();
    this.lines.flush();
  }
}
