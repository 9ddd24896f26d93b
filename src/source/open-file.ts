/**
 * One open generation of a followed path and its read loop: the file's fd, its identity, how far
 * it was read, and the line reader its bytes go to. The tailer decides which files to open and
 * when to look; this reads what a file holds now, starting over when it was truncated or rewritten.
 */
import { fstatSync, readSync } from 'node:fs';
import type { RecordAssembler } from '../parse/record-assembler.js';
import { FINGERPRINT_BYTES, fingerprintOf, type FileIdentity, type FilePosition } from './checkpoint.js';
import { LineSplitter } from './file-lines.js';
import { changeOf, idKey } from './rotation.js';

/** What the tailer feeds and tells. The daemon implements it on top of RelayPipeline. */
export interface TailerHost {
  /** A line reader for a newly opened file (RelayPipeline.openFile). */
  open(relay: string, file: string, baseDate: Date): RecordAssembler;
  /**
   * A chunk of `relay`'s lines went through, read at wall time `readAtMs`; `firstLogSec` is the
   * log time of its first timed record (NaN: none), from the file's RecordAssembler
   * (`takeFirstLogSec()`): the log/wall clock offset sample.
   */
  afterChunk(relay: string, readAtMs: number, firstLogSec: number): void;
  notice(message: string): void;
}

export interface TailerCounters {
  filesOpened: number;
  rotations: number;
  truncations: number;
  /** Same inode, different first bytes: rewritten in place or a reused inode. */
  replaced: number;
  bytesRead: number;
  /** Partial last lines handed over by --flush-partial-after. */
  partialFlushes: number;
}

/** One open generation of a followed path: its fd, identity, and how far it was read. */
export class OpenFile {
  readonly splitter: LineSplitter;
  /** Bytes pushed into the splitter (the next read starts here). */
  readPos: number;
  lastDataAt: number;
  /** Draining: close after this wall time (ms) once no new data came. */
  drainUntil = 0;

  constructor(
    readonly fd: number,
    public id: FileIdentity,
    readonly file: string,
    readonly relay: string,
    public lines: RecordAssembler,
    maxLineBytes: number,
    offset: number,
    lineNo: number,
    now: number,
  ) {
    this.splitter = new LineSplitter(lines, maxLineBytes);
    this.splitter.resumeAt(offset, lineNo);
    this.readPos = offset;
    this.lastDataAt = now;
  }

  get key(): string {
    return idKey(this.id.dev, this.id.ino);
  }

  /** Position safe to resume from: before the held record and the held partial line. */
  position(): FilePosition {
    const held = this.lines.held;
    const offset = held !== null ? held.offset : this.splitter.lineStart;
    const lineNo = held !== null ? held.line - 1 : this.splitter.lineNo;
    return { ...this.id, path: this.file, relay: this.relay, offset, lineNo };
  }

  /** Reads what the file holds beyond our position now (and what is appended meanwhile). */
  readAvailable(
    now: number,
    buf: Buffer,
    scratch: Buffer,
    host: TailerHost,
    counters: TailerCounters,
    /** Called with the file still at its old position when it turns out truncated or rewritten. */
    beforeStartOver?: (f: OpenFile) => void,
  ): void {
    let size: number;
    try {
      size = fstatSync(this.fd).size;
    } catch {
      return;
    }
    const change = changeOf(this, size, scratch);
    if (change !== null) {
      beforeStartOver?.(this);
      this.startOver(change, size, scratch, host, counters);
    }
    if (size <= this.readPos) return;
    while (this.readPos < size) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, size - this.readPos), this.readPos);
      if (n === 0) break;
      this.readPos += n;
      counters.bytesRead += n;
      this.splitter.push(buf.subarray(0, n));
      if (this.readPos >= size) {
        // Bytes may have been appended while we processed: take them in this round as well.
        const again = fstatSync(this.fd).size;
        if (again > size) size = again;
      }
    }
    this.lastDataAt = now;
    if (this.id.fpLen < FINGERPRINT_BYTES && this.readPos > this.id.fpLen) {
      const fp = fingerprintOf(this.fd, this.readPos, scratch);
      this.id = { ...this.id, fp: fp.fp, fpLen: fp.fpLen };
    }
    host.afterChunk(this.relay, now, this.lines.takeFirstLogSec());
  }

  /** Truncated (copytruncate, `> file`), or rewritten in place: read it again from the start. */
  private startOver(
    change: 'truncated' | 'rewritten',
    size: number,
    scratch: Buffer,
    host: TailerHost,
    counters: TailerCounters,
  ): void {
    if (change === 'truncated') counters.truncations++;
    else counters.replaced++;
    host.notice(
      `${this.file}: ${change === 'truncated' ? `truncated (size ${size} < offset ${this.readPos})` : 'rewritten (its first bytes changed)'}; reading it again from the start`,
    );
    this.lines.flush();
    this.splitter.resumeAt(0, 0);
    this.readPos = 0;
    const fp = fingerprintOf(this.fd, size, scratch);
    this.id = { ...this.id, fp: fp.fp, fpLen: fp.fpLen };
  }
}
