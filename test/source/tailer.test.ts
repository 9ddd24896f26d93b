/**
 * The tailer in-process, on real files in a temp directory, with a host that collects what it
 * emits (like the OTel fileconsumer's emittest.Sink): each line goes through the real record
 * assembler and lands in `sink.records`. Nothing runs on its own: no timers fire (poll interval
 * an hour, no change hints), each test drives the looks itself (`look()`), and wall time is
 * Vitest's fake Date, set before each look, with file mtimes set to match. So "two renames
 * between two looks" or "a look while the path was missing" are exact, and every test takes
 * milliseconds. The end-to-end daemon tests (test/live/) stay beside these.
 */
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordAssembler } from '../../src/parse/record-assembler.js';
import { FINGERPRINT_BYTES, fingerprintOf, type FilePosition } from '../../src/source/checkpoint.js';
import { Tailer, type TailerHost, type TailerOptions } from '../../src/source/tailer.js';

/** The fake host: collects every record with the relay and file it came from, and every notice. */
class EmitSink implements TailerHost {
  /** opened: which open() made the reader (one per opened file, whatever its name). */
  readonly records: Array<{ relay: string; file: string; opened: number; message: string }> = [];
  private opens = 0;
  readonly notices: string[] = [];
  readonly malformed: string[] = [];
  /** Every afterChunk: when the chunk's data was read and its first record's log time (the clock offset sample). */
  readonly chunks: Array<{ readAtMs: number; firstLogSec: number }> = [];
  open(relay: string, file: string, baseDate: Date): RecordAssembler {
    const opened = ++this.opens;
    return new RecordAssembler(
      {
        record: (rec) => this.records.push({ relay, file: rec.file, opened, message: rec.message }),
        malformed: (line, _offset, reason) => this.malformed.push(`${file}:${line}: ${reason}`),
        oversize: (line) => this.malformed.push(`${file}:${line}: oversize`),
      },
      baseDate,
      file,
    );
  }
  afterChunk(_relay: string, readAtMs: number, firstLogSec: number): void {
    this.chunks.push({ readAtMs, firstLogSec });
  }
  notice(message: string): void {
    this.notices.push(message);
  }
  /**
   * Sequence numbers emitted, sorted, after checking that each file's lines came in file order.
   * (Across files, a file's last record is held for continuation lines until its quiet-time
   * flush, so it may follow the next file's first records.)
   */
  seqs(): number[] {
    const all: number[] = [];
    const lastOf = new Map<number, number>();
    for (const r of this.records) {
      const n = Number(/^seq=(\d+)/.exec(r.message)?.[1] ?? NaN);
      const last = lastOf.get(r.opened) ?? -1;
      if (!(n > last)) throw new Error(`${r.file} (open #${r.opened}): seq=${n} after seq=${last}`);
      lastOf.set(r.opened, n);
      all.push(n);
    }
    return all.sort((a, b) => a - b);
  }
}

// Every line starts with the same 47 bytes (a fixed timestamp), as in the chaos test: only what
// follows tells two files apart.
const line = (seq: number): string => `[2026-11-30T06:00:00.000000Z INFO  relay_v2] seq=${seq} payload\n`;
const lines = (from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += line(i);
  return s;
};
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

const OPTS: TailerOptions = {
  pollIntervalMs: 3_600_000, // the tests drive every look
  maxLineBytes: 65536,
  from: 'start',
  flushRecordAfterMs: 0,
  flushPartialAfterMs: null,
  drainGraceMs: 0, // a file that left its path is read to its end at the next look, then closed
  watch: false,
};

let dir = '';
let file = '';
let clock = 0;
const tailers: Tailer[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pollscope-tailer-'));
  file = path.join(dir, 'relay.log');
  vi.useFakeTimers({ toFake: ['Date'] });
  clock = Date.parse('2026-11-30T06:00:00Z');
  vi.setSystemTime(clock);
});

afterEach(async () => {
  for (const t of tailers.splice(0)) await t.stop();
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

/** Wall time moves on by `ms` (the fake Date the tailer reads). */
function advance(ms: number): number {
  clock += ms;
  vi.setSystemTime(clock);
  return clock;
}

/** Sets a file's mtime to a wall time (ms), as if it had last been written then. */
function writtenAt(f: string, ms: number): void {
  utimesSync(f, ms / 1000, ms / 1000);
}

function follow(saved: FilePosition[] = [], savedAtMs = Number.NaN, opts: Partial<TailerOptions> = {}) {
  const sink = new EmitSink();
  const tailer = new Tailer(sink, { ...OPTS, ...opts }, saved, savedAtMs);
  tailers.push(tailer);
  tailer.setSources([{ pattern: file, relay: 'relay' }]);
  tailer.start();
  tailer.housekeep(Date.now());
  /** One look (a poll), then the quiet-time flush of held records. */
  const look = (): void => {
    tailer.pollAll();
    tailer.housekeep(Date.now());
  };
  return { sink, tailer, look };
}

describe('Tailer in-process (fake host, real files)', () => {
  it('appends are read once, in order, as they come', () => {
    writeFileSync(file, lines(0, 10));
    const { sink, look } = follow();
    expect(sink.seqs()).toEqual(range(0, 10));
    appendFileSync(file, lines(10, 25));
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 25));
    expect(sink.records.every((r) => r.relay === 'relay' && r.file === file)).toBe(true);
  });

  it('each chunk reports the log time of the first record it handed over, with the wall time its data was read', () => {
    const at = (sec: number, seq: number): string =>
      `[2026-11-30T05:00:0${sec}.250000Z INFO  relay_v2] seq=${seq} payload\n`;
    const logSec = (sec: number): number => Date.parse(`2026-11-30T05:00:0${sec}.250Z`) / 1000;
    writeFileSync(file, at(1, 0) + at(2, 1) + at(3, 2));
    const t0 = Date.now();
    const { sink, tailer, look } = follow([], Number.NaN, { flushPartialAfterMs: 0 });
    // The read hands over seq=0 and 1 (seq=2 is held for continuation lines); the quiet-time
    // flush hands over seq=2, read at the same time.
    expect(sink.chunks).toEqual([
      { readAtMs: t0, firstLogSec: logSec(1) },
      { readAtMs: t0, firstLogSec: logSec(3) },
    ]);
    const t1 = advance(500);
    appendFileSync(file, at(4, 3) + at(5, 4));
    look();
    expect(sink.chunks.slice(2)).toEqual([
      { readAtMs: t1, firstLogSec: logSec(4) },
      { readAtMs: t1, firstLogSec: logSec(5) },
    ]);
    // A partial last line: the read hands over no record; the partial-line flush, later, makes
    // it a record, sampled with the time its bytes were read.
    appendFileSync(file, at(6, 5).trimEnd());
    const t2 = advance(500);
    tailer.pollAll();
    tailer.housekeep(advance(500));
    expect(sink.chunks.slice(4)).toEqual([
      { readAtMs: t2, firstLogSec: Number.NaN },
      { readAtMs: t2, firstLogSec: logSec(6) },
    ]);
    expect(sink.seqs()).toEqual(range(0, 6));
    expect(sink.records.every((r) => r.file === file)).toBe(true);
  });

  it('rename rotation: the old file is read to its end (lines written to it after the rename too), then the new one', () => {
    writeFileSync(file, lines(0, 10));
    const { sink, tailer, look } = follow();
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, lines(10, 15)); // the relay writes on through its old fd
    writeFileSync(file, lines(15, 30));
    advance(300);
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 30));
    expect(tailer.counters.rotations).toBe(1);
    expect(sink.records.find((r) => r.message.startsWith('seq=12 '))?.opened).toBe(1); // from the old file's reader
  });

  it('two renames between two looks: the generation never seen at the path is read, oldest first', () => {
    writeFileSync(file, lines(0, 10));
    const { sink, look } = follow();
    const t0 = Date.now();
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(10, 60)); // the intermediate generation: 50 lines
    writtenAt(file, t0 + 100);
    renameSync(file, `${file}.2`);
    writeFileSync(file, lines(60, 70));
    advance(250);
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 70));
    expect(sink.notices.some((n) => /rotated more than once between two looks/.test(n))).toBe(true);
  });

  it('a look that found the path missing does not hide a generation written before it (double rename under load)', () => {
    writeFileSync(file, lines(0, 10));
    const { sink, look } = follow();
    const t0 = Date.now();
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(10, 60));
    writtenAt(file, t0 + 100); // written 100 ms after the last look that saw the old file …
    renameSync(file, `${file}.2`);
    advance(800); // … and renamed away long before the next look, which finds the path missing
    look();
    expect(sink.seqs()).toEqual(range(0, 10));
    writeFileSync(file, lines(60, 70));
    advance(250);
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 70));
  });

  it('a generation first seen empty is followed by inode and read to its end after it is renamed away', () => {
    writeFileSync(file, '');
    const { sink, look } = follow();
    appendFileSync(file, lines(0, 50));
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(50, 60));
    advance(100);
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 60));
  });

  it('truncation (`> file`): counted, noted, read again from the start', () => {
    writeFileSync(file, lines(0, 20));
    const { sink, tailer, look } = follow();
    truncateSync(file, 0);
    appendFileSync(file, lines(20, 25));
    look();
    expect(sink.seqs()).toEqual(range(0, 25));
    expect(tailer.counters.truncations).toBe(1);
    expect(sink.notices.some((n) => /truncated \(size \d+ < offset \d+\); reading it again/.test(n))).toBe(true);
  });

  it('truncation seen only after the file regrew past our offset: found by its first bytes', () => {
    writeFileSync(file, lines(0, 5));
    const { sink, tailer, look } = follow();
    truncateSync(file, 0);
    appendFileSync(file, lines(5, 40)); // longer than before: the size alone says nothing
    look();
    expect(sink.seqs()).toEqual(range(0, 40));
    expect(tailer.counters.replaced).toBe(1);
  });

  it('copytruncate: the copy is not read again; what came after the truncation is read once', () => {
    writeFileSync(file, lines(0, 30));
    const { sink, look } = follow();
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines(30, 40));
    advance(100);
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 40));
  });

  it('copytruncate after lines we had not read yet: they are read from the copy, from our offset', () => {
    writeFileSync(file, lines(0, 30));
    const { sink, tailer, look } = follow();
    appendFileSync(file, lines(30, 40)); // written after our last look …
    copyFileSync(file, `${file}.1`); // … so in the copy only once the file is truncated
    truncateSync(file, 0);
    appendFileSync(file, lines(40, 50));
    advance(100);
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 50));
    expect(tailer.counters.truncations).toBe(1);
    expect(
      sink.notices.some((n) => /relay\.log\.1 is its copy \(copytruncate\); reading it from offset \d+ first/.test(n)),
    ).toBe(true);
  });

  it('a restart soon after a copytruncate does not read the copy again', () => {
    writeFileSync(file, lines(0, 30));
    const first = follow();
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines(30, 40));
    advance(100);
    first.look();
    first.look(); // the copy, read to its end (nothing new in it), is closed and remembered
    const saved = first.tailer.positions();
    const savedAt = Date.now();
    advance(1000); // well within the margin for files the last looks before a stop had not opened
    const second = follow(saved, savedAt);
    second.look();
    expect([...first.sink.seqs(), ...second.sink.seqs()].sort((a, b) => a - b)).toEqual(range(0, 40));
  });

  it('delete + recreate: the deleted file is drained through our fd, the new one read from 0', () => {
    writeFileSync(file, lines(0, 10));
    const { sink, look } = follow();
    const oldFd = openSync(file, 'a');
    unlinkSync(file);
    writeSync(oldFd, lines(10, 15)); // the relay writes on before it reopens
    closeSync(oldFd);
    writeFileSync(file, lines(15, 25));
    advance(100);
    look();
    look();
    expect(sink.seqs()).toEqual(range(0, 25));
  });

  it('after a restart, a checkpointed file rotated away meanwhile is resumed at its offset, then the new file', () => {
    writeFileSync(file, lines(0, 10));
    const first = follow();
    const saved = first.tailer.positions();
    const savedAt = Date.now();
    appendFileSync(file, lines(10, 20)); // written while we were down …
    renameSync(file, `${file}.1`); // … then rotated
    writeFileSync(file, lines(20, 30));
    advance(1000);
    const second = follow(saved, savedAt);
    second.look();
    expect(first.sink.seqs()).toEqual(range(0, 10));
    expect(second.sink.seqs()).toEqual(range(10, 30));
    expect(
      second.sink.notices.some((n) => /rotated while stopped; reading .*relay\.log\.1 from offset \d+ first/.test(n)),
    ).toBe(true);
  });

  it('a checkpointed inode number reused by a new generation (ext4 reuses freed inodes): the new file is read from 0', () => {
    // The previous run read a file that was deleted since; its inode number now belongs to a new
    // generation that was rotated away while we were down.
    writeFileSync(`${file}.1`, lines(0, 40));
    const st = statSync(`${file}.1`);
    const stale: FilePosition = {
      dev: st.dev,
      ino: st.ino,
      fp: 'f'.repeat(40), // another file's first bytes
      fpLen: FINGERPRINT_BYTES,
      path: file,
      relay: 'relay',
      offset: 100_000, // far beyond this file's size: the old code skipped it as "read"
      lineNo: 1000,
    };
    writeFileSync(file, lines(40, 50));
    const { sink } = follow([stale], Date.now() - 1000);
    expect(sink.seqs()).toEqual(range(0, 50));
  });

  it('a reused inode number at the path itself: a new file, from 0, counted as replaced', () => {
    writeFileSync(file, lines(0, 20));
    const st = statSync(file);
    const stale: FilePosition = {
      dev: st.dev,
      ino: st.ino,
      fp: 'f'.repeat(40),
      fpLen: FINGERPRINT_BYTES,
      path: file,
      relay: 'relay',
      offset: 600,
      lineNo: 10,
    };
    const { sink, tailer } = follow([stale], Date.now() - 1000);
    expect(sink.seqs()).toEqual(range(0, 20));
    expect(tailer.counters.replaced).toBe(1);
  });

  it('a short fingerprint (only the 47 bytes every line shares) is no proof that a new generation is a copy', () => {
    // A position whose fingerprint covers less than was read and less than FINGERPRINT_BYTES
    // (e.g. written by an older version) would match every file of this relay.
    const scratch = Buffer.alloc(FINGERPRINT_BYTES);
    writeFileSync(`${file}.0`, line(0).slice(0, 47));
    const fd = openSync(`${file}.0`, 'r');
    const short = fingerprintOf(fd, 47, scratch);
    closeSync(fd);
    unlinkSync(`${file}.0`);
    const saved: FilePosition = {
      dev: 0,
      ino: 1,
      ...short,
      path: file,
      relay: 'relay',
      offset: 2000,
      lineNo: 30,
    };
    writeFileSync(`${file}.1`, lines(0, 40)); // rotated away while we were down
    writeFileSync(file, lines(40, 45));
    const { sink } = follow([saved], Date.now() - 1000);
    expect(sink.seqs()).toEqual(range(0, 45));
  });

  it('a copytruncate copy made while stopped resumes at the original offset (no line twice)', () => {
    writeFileSync(file, lines(0, 30));
    const first = follow();
    const saved = first.tailer.positions();
    const savedAt = Date.now();
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, lines(30, 40));
    advance(1000);
    const second = follow(saved, savedAt);
    second.look();
    expect([...first.sink.seqs(), ...second.sink.seqs()]).toEqual(range(0, 40));
  });

  it('old rotated generations present at the first start are not read; a missing path is waited for and noted once', () => {
    writeFileSync(`${file}.1`, lines(0, 10));
    writtenAt(`${file}.1`, Date.now() - 3_600_000);
    const { sink, look } = follow();
    look();
    expect(sink.notices.filter((n) => /does not exist \(yet\); waiting for it/.test(n))).toHaveLength(1);
    writeFileSync(file, lines(10, 20));
    advance(250);
    look();
    expect(sink.seqs()).toEqual(range(10, 20));
  });

  it('--from end skips what a file held at the first start, and a partial last line waits for its newline', () => {
    writeFileSync(file, lines(0, 10));
    const { sink, look } = follow([], Number.NaN, { from: 'end' });
    appendFileSync(file, line(10) + line(11).slice(0, 30));
    look();
    expect(sink.seqs()).toEqual([10]);
    appendFileSync(file, line(11).slice(30));
    look();
    expect(sink.seqs()).toEqual([10, 11]);
    expect(sink.malformed).toEqual([]);
  });
});
