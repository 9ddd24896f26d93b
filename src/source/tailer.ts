/**
 * Follows log files as they grow, rotate and get truncated, and feeds every complete line once
 * to the relay's line reader. chokidar events are only a hint to look now; the ground truth is a
 * periodic stat of every followed path (inotify can overflow, network file systems send nothing).
 *
 * A followed path (a `--log` path, or each file a glob matched) is a slot. A slot has at most
 * one current file (the one at its path) plus files that left the path (renamed by rotation, or
 * deleted) and are read to their end before they are closed ("draining"): the relay may still
 * write a few lines to the old file before it reopens. Reads are synchronous: a chunk is read and
 * handed through the pipeline before the next, so the order of lines is the order of bytes.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { RecordAssembler } from '../parse/record-assembler.js';
import { FINGERPRINT_BYTES, fingerprintOf, sameStart, type FilePosition, type FileIdentity } from './checkpoint.js';
import { LineSplitter } from './file-lines.js';
import { describeFsError } from './fs-errors.js';

export interface LogSpec {
  /** A path, or a glob whose wildcards (`*`, `?`, `[…]`) are in the file name only. */
  pattern: string;
  /** Relay name for everything read from it; null = from each file's name. */
  relay: string | null;
}

export interface TailerOptions {
  /** Stat every followed path this often (the ground truth next to chokidar's hints). */
  pollIntervalMs: number;
  maxLineBytes: number;
  /** Where to start in a file that exists at startup and has no checkpoint. */
  from: 'start' | 'end';
  /** Hand the held record to the pipeline after this long without a new line. */
  flushRecordAfterMs: number;
  /** Hand a partial last line (no '\n' yet) over after this long; null = hold it until its newline. */
  flushPartialAfterMs: number | null;
  /** Keep reading a file that left its path for this long (the writer may not have reopened yet). */
  drainGraceMs: number;
  /** chokidar change hints (off = stat polling only). */
  watch: boolean;
}

/** What the tailer feeds and tells. The daemon implements it on top of RelayPipeline. */
export interface TailerHost {
  /** A line reader for a newly opened file (RelayPipeline.openFile). */
  open(relay: string, file: string, baseDate: Date): RecordAssembler;
  /** Lines of `file` follow (the pipeline labels positions with it). */
  beforeChunk(relay: string, file: string): void;
  /** A chunk of `relay`'s lines went through, read at wall time `readAtMs` (log/wall offset sampling). */
  afterChunk(relay: string, readAtMs: number): void;
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

class OpenFile {
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

  /** Position safe to resume from: before the held record and the held partial line. */
  position(): FilePosition {
    const held = this.lines.held;
    const offset = held !== null ? held.offset : this.splitter.lineStart;
    const lineNo = held !== null ? held.line - 1 : this.splitter.lineNo;
    return { ...this.id, path: this.file, relay: this.relay, offset, lineNo };
  }
}

class Slot {
  current: OpenFile | null = null;
  readonly draining: OpenFile[] = [];
  /** Problem last reported for this path (reported once until it changes). */
  reported = '';
  /** Only a file found by the first look at startup is "seen the first time" for --from; later ones are new: from 0. */
  existedAtStart: boolean;
  /** Wall time of the last look at the path. */
  lastPollMs = Date.now();
  constructor(
    readonly file: string,
    readonly relay: string,
    atStartup: boolean,
  ) {
    this.existedAtStart = atStartup;
  }
}

const idKey = (dev: number, ino: number): string => `${dev}:${ino}`;
/** Closed files remembered (so a glob that matches a rotated name does not read it again). */
const MAX_CLOSED = 256;
const UNSEEN_MARGIN_MS = 5000;
/** mtime granularity and clock slack when comparing a sibling's mtime with our last look. */
const SIBLING_MTIME_SLACK_MS = 50;
/** Re-poll delay while a file keeps growing. */
const ACTIVE_POLL_MS = 40;

export class Tailer {
  readonly counters: TailerCounters = {
    filesOpened: 0,
    rotations: 0,
    truncations: 0,
    replaced: 0,
    bytesRead: 0,
    partialFlushes: 0,
  };
  private readonly slots = new Map<string, Slot>();
  private specs: LogSpec[] = [];
  /** Files open anywhere, by dev:ino: one file is read by one reader only. */
  private readonly open = new Map<string, OpenFile>();
  /** Positions of files read before (checkpoint, or closed in this run), by dev:ino. */
  private readonly known = new Map<string, FilePosition>();
  private readonly chunk: Buffer;
  private readonly scratch = Buffer.allocUnsafe(FINGERPRINT_BYTES);
  private watcher: FSWatcher | null = null;
  private watchedDirs = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private activeTimer: NodeJS.Timeout | null = null;
  private pollQueued = false;
  private started = false;
  private stopped = false;

  /** saved/savedAtMs: the checkpoint's positions and when it was written (NaN: none). */
  constructor(
    private readonly host: TailerHost,
    private readonly opts: TailerOptions,
    saved: readonly FilePosition[] = [],
    private readonly savedAtMs = Number.NaN,
  ) {
    this.chunk = Buffer.allocUnsafe(Math.max(1 << 20, Math.min(opts.maxLineBytes + 1, 1 << 24)));
    for (const p of saved) this.known.set(idKey(p.dev, p.ino), p);
  }

  /** Sets the followed paths/globs (startup and SIGHUP): new ones start, dropped ones are closed at their position. */
  setSources(specs: LogSpec[]): void {
    this.specs = specs;
    const wanted = new Set<string>();
    for (const s of specs) for (const f of this.expand(s)) wanted.add(f);
    for (const [file, slot] of this.slots) {
      if (wanted.has(file) || isGlobMatchOfAny(file, specs)) continue;
      for (const f of [...slot.draining, ...(slot.current ? [slot.current] : [])]) this.close(f, false);
      this.slots.delete(file);
    }
    this.discover();
    this.updateWatches();
  }

  /** First poll, then polls on the interval and on chokidar hints. Files whose checkpointed file was rotated while we were down are resumed first. */
  start(): void {
    this.resumeRotatedAway(this.savedAtMs);
    this.pollAll();
    this.started = true;
    this.timer = setInterval(() => this.pollAll(), this.opts.pollIntervalMs);
    this.updateWatches();
  }

  /** Reads everything readable now (the whole daemon is driven from here and the housekeeping tick). */
  pollAll(): void {
    if (this.stopped) return;
    this.discover();
    const now = Date.now();
    const before = this.counters.bytesRead;
    for (const slot of this.slots.values()) this.pollSlot(slot, now);
    // While data flows, look again soon: chokidar throttles change events (one per 50 ms per
    // file) and may drop them under load; a stat every ACTIVE_POLL_MS of a busy file costs little.
    if (this.counters.bytesRead > before && this.activeTimer === null && this.started) {
      this.activeTimer = setTimeout(
        () => {
          this.activeTimer = null;
          this.pollAll();
        },
        Math.min(ACTIVE_POLL_MS, this.opts.pollIntervalMs),
      );
    }
  }

  /** Quiet-time flushes: the held record (so a wake line reaches the model now) and, if enabled, a partial line. */
  housekeep(now: number): void {
    for (const f of this.open.values()) {
      const quiet = now - f.lastDataAt;
      if (
        this.opts.flushPartialAfterMs !== null &&
        quiet >= this.opts.flushPartialAfterMs &&
        f.splitter.pendingBytes > 0
      ) {
        this.host.beforeChunk(f.relay, f.file);
        if (f.splitter.flushPartial()) this.counters.partialFlushes++;
      }
      if (quiet >= this.opts.flushRecordAfterMs && f.lines.held !== null) {
        this.host.beforeChunk(f.relay, f.file);
        f.lines.flush();
        this.host.afterChunk(f.relay, f.lastDataAt);
      }
    }
  }

  /** Every open file's position plus the remembered closed ones: the checkpoint. */
  positions(): FilePosition[] {
    const out: FilePosition[] = [];
    for (const [key, p] of this.known) if (!this.open.has(key)) out.push(p);
    for (const f of this.open.values()) out.push(f.position());
    return out;
  }

  /** Files currently open, for status output. */
  openFiles(): Array<{ file: string; relay: string; offset: number; draining: boolean }> {
    const out = [];
    for (const slot of this.slots.values()) {
      if (slot.current)
        out.push({ file: slot.current.file, relay: slot.relay, offset: slot.current.readPos, draining: false });
      for (const d of slot.draining) out.push({ file: d.file, relay: d.relay, offset: d.readPos, draining: true });
    }
    return out;
  }

  /**
   * Stop following: the records already read are handed over (held records flushed), partial
   * lines stay unread (the checkpoint is before them). Returns the final positions.
   */
  async stop(): Promise<FilePosition[]> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.activeTimer) clearTimeout(this.activeTimer);
    this.timer = null;
    for (const f of this.open.values()) {
      this.host.beforeChunk(f.relay, f.file);
      f.lines.flush();
    }
    const positions = this.positions();
    for (const f of [...this.open.values()]) {
      const key = idKey(f.id.dev, f.id.ino);
      this.known.set(key, f.position());
      closeSync(f.fd);
      this.open.delete(key);
    }
    const w = this.watcher;
    this.watcher = null;
    await w?.close();
    return positions;
  }

  // ------------------------------------------------------------------------------------------

  private expand(spec: LogSpec): string[] {
    if (!hasGlob(spec.pattern)) return [path.resolve(spec.pattern)];
    const dir = path.resolve(path.dirname(spec.pattern));
    const re = globToRegExp(path.basename(spec.pattern));
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => re.test(n))
      .sort()
      .map((n) => path.join(dir, n));
  }

  /** Creates slots for paths (and new glob matches). */
  private discover(): void {
    for (const spec of this.specs) {
      for (const file of this.expand(spec)) {
        if (this.slots.has(file)) continue;
        const relay = spec.relay ?? relayFromFileName(file);
        this.slots.set(file, new Slot(file, relay, !this.started));
        if (this.started) this.updateWatches();
      }
    }
  }

  private pollSlot(slot: Slot, now: number): void {
    // Generations rotated away since the previous look were written after it (mtime slack aside).
    const since = slot.lastPollMs - SIBLING_MTIME_SLACK_MS;
    slot.lastPollMs = now;
    for (let i = 0; i < slot.draining.length; i++) {
      const d = slot.draining[i];
      const before = d.readPos;
      this.readAvailable(d, now);
      if (d.readPos > before) d.drainUntil = now + this.opts.drainGraceMs;
      if (now >= d.drainUntil) {
        this.close(d, true);
        slot.draining.splice(i--, 1);
      }
    }
    let st: Stats;
    try {
      st = statSync(slot.file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      slot.existedAtStart = false;
      if (slot.current !== null) {
        // Deleted or renamed away: what the relay wrote before is still readable through our fd.
        // Not reported yet: with rename rotation the new file usually follows within microseconds.
        this.toDraining(slot, now);
        return;
      }
      this.report(
        slot,
        code === 'ENOENT'
          ? `${slot.file}: does not exist (yet); waiting for it`
          : `${slot.file}: ${describeFsError(err)}; retrying`,
      );
      return;
    }
    if (!st.isFile()) {
      this.report(slot, `${slot.file}: not a regular file; waiting`);
      return;
    }
    const cur = slot.current;
    if (cur !== null && (cur.id.ino !== st.ino || cur.id.dev !== st.dev)) {
      this.counters.rotations++;
      this.toDraining(slot, now);
      // Read the old file to its current end before the new one: lines stay in write order.
      this.readAvailable(slot.draining[slot.draining.length - 1], now);
    }
    if (slot.current === null && !slot.existedAtStart) {
      // A generation created and rotated away since the last look (two rotations between polls,
      // or the path appearing and rotating before we first saw it) was never at the path when we
      // looked. Read those (oldest first) before the file now at the path.
      for (const f of this.adoptRotatedSiblings(slot, since, now)) {
        this.counters.rotations++;
        this.host.notice(
          `${slot.file}: rotated more than once between two looks; reading ${f.file} from offset ${f.readPos}`,
        );
        this.readAvailable(f, now);
      }
    }
    if (slot.current === null && !this.openSlot(slot, st, now)) return;
    this.readAvailable(slot.current!, now);
  }

  private toDraining(slot: Slot, now: number): void {
    const f = slot.current!;
    slot.current = null;
    f.drainUntil = now + this.opts.drainGraceMs;
    slot.draining.push(f);
  }

  private openSlot(slot: Slot, st: Stats, now: number): boolean {
    const key = idKey(st.dev, st.ino);
    if (this.open.has(key)) return false; // read by another slot (a glob matching a rotated name)
    let fd: number;
    try {
      fd = openSync(slot.file, 'r');
    } catch (err) {
      this.report(slot, `${slot.file}: ${describeFsError(err)}; retrying`);
      return false;
    }
    const fst = fstatSync(fd);
    if (fst.ino !== st.ino || fst.dev !== st.dev) {
      closeSync(fd);
      return false;
    } // replaced between stat and open: next poll
    let offset = 0;
    let lineNo = 0;
    const known = this.known.get(key);
    const fp = fingerprintOf(fd, fst.size, this.scratch);
    if (known !== undefined && sameStart(fd, known, fst.size, this.scratch)) {
      offset = Math.min(known.offset, fst.size);
      lineNo = known.lineNo;
    } else if (known === undefined && slot.existedAtStart && this.opts.from === 'end' && !this.knownRelay(slot.relay)) {
      offset = lastLineStart(fd, fst.size, this.chunk);
    }
    slot.existedAtStart = false;
    if (known !== undefined && offset === 0) this.counters.replaced++;
    this.known.delete(key);
    const id: FileIdentity = { dev: fst.dev, ino: fst.ino, fp: fp.fp, fpLen: fp.fpLen };
    const f = new OpenFile(
      fd,
      id,
      slot.file,
      slot.relay,
      this.host.open(slot.relay, slot.file, fst.mtime),
      this.opts.maxLineBytes,
      offset,
      lineNo,
      now,
    );
    slot.current = f;
    this.open.set(key, f);
    this.counters.filesOpened++;
    if (slot.reported !== '') this.host.notice(`${slot.file}: following again`);
    slot.reported = '';
    return true;
  }

  /** A relay with checkpointed files is not new: its new files start at 0 (a checkpoint wins over --from). */
  private knownRelay(relay: string): boolean {
    for (const p of this.known.values()) if (p.relay === relay) return true;
    return false;
  }

  /**
   * After a restart: files that left a followed path while we were stopped (rotation) are found
   * among the path's siblings (`relay.log.1`, `relay.log-20260101`, …) and read before the file
   * now at the path, oldest first: a checkpointed file from its saved offset, a file we never saw
   * (created and rotated away while we were down: modified after the checkpoint) from 0.
   */
  private resumeRotatedAway(savedAtMs: number): void {
    const now = Date.now();
    for (const slot of this.slots.values()) {
      const hadCheckpoint = [...this.known.values()].some((p) => p.path === slot.file || p.relay === slot.relay);
      if (!hadCheckpoint) continue;
      // The margin covers files the last polls before the stop had not opened yet.
      for (const f of this.adoptRotatedSiblings(slot, savedAtMs - UNSEEN_MARGIN_MS, now)) {
        this.host.notice(`${slot.file}: rotated while stopped; reading ${f.file} from offset ${f.readPos} first`);
      }
      slot.existedAtStart = false; // the file now at the path came after the checkpoint: from 0
    }
  }

  /**
   * Rotated generations of `slot` we have not read to their end: siblings of the path (`relay.log.1`,
   * `relay.log-20260101`, …) that are not open, either known with more bytes than our position or
   * never seen and modified after `sinceMs`. Opened as draining, oldest first, from the known
   * position or 0. Used after a restart, and when a poll sees a rotation: two rotations between
   * polls leave a whole generation that was never at the path when we looked.
   */
  private adoptRotatedSiblings(slot: Slot, sinceMs: number, now: number): OpenFile[] {
    let currentKey = '';
    try {
      const st = statSync(slot.file);
      currentKey = idKey(st.dev, st.ino);
    } catch {
      /* not there */
    }
    const dir = path.dirname(slot.file);
    const base = path.basename(slot.file);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const found: Array<{ file: string; st: Stats; pos: FilePosition | null }> = [];
    for (const n of names) {
      if (
        n.length <= base.length ||
        !n.startsWith(base) ||
        (n[base.length] !== '.' && n[base.length] !== '-') ||
        /\.(gz|xz|bz2|zst|lz4)$/.test(n)
      )
        continue;
      const file = path.join(dir, n);
      let st: Stats;
      try {
        st = statSync(file);
      } catch {
        continue;
      }
      const key = idKey(st.dev, st.ino);
      if (!st.isFile() || key === currentKey || this.open.has(key)) continue;
      const pos = this.known.get(key) ?? null;
      if (pos !== null ? st.size > pos.offset : st.mtimeMs > sinceMs) found.push({ file, st, pos });
    }
    found.sort((a, b) => a.st.mtimeMs - b.st.mtimeMs);
    const adopted: OpenFile[] = [];
    for (const { file, st, pos } of found) {
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch (err) {
        this.host.notice(`${file}: ${describeFsError(err)}`);
        continue;
      }
      const fst = fstatSync(fd);
      const key = idKey(fst.dev, fst.ino);
      if (key !== idKey(st.dev, st.ino) || (pos !== null && !sameStart(fd, pos, fst.size, this.scratch))) {
        closeSync(fd);
        continue;
      }
      // A file never seen that starts like one we had read is its copy (copytruncate while we were
      // down): what we read of the original is already processed.
      const from = pos ?? this.copiedFrom(slot, fd, fst.size);
      const fp = fingerprintOf(fd, fst.size, this.scratch);
      this.known.delete(key);
      const offset = from !== null ? Math.min(from.offset, fst.size) : 0;
      const f = new OpenFile(
        fd,
        { dev: fst.dev, ino: fst.ino, fp: fp.fp, fpLen: fp.fpLen },
        file,
        slot.relay,
        this.host.open(slot.relay, file, fst.mtime),
        this.opts.maxLineBytes,
        offset,
        from?.lineNo ?? 0,
        now,
      );
      f.drainUntil = now + this.opts.drainGraceMs;
      slot.draining.push(f);
      this.open.set(key, f);
      this.counters.filesOpened++;
      adopted.push(f);
    }
    return adopted;
  }

  /** A known position of this relay whose file started with the same bytes as `fd` (of which `fd` is a copy). */
  private copiedFrom(slot: Slot, fd: number, size: number): FilePosition | null {
    for (const p of this.known.values()) {
      if (p.relay === slot.relay && p.fpLen > 0 && p.offset <= size && sameStart(fd, p, size, this.scratch)) return p;
    }
    return null;
  }

  private readAvailable(f: OpenFile, now: number): void {
    let st: Stats;
    try {
      st = fstatSync(f.fd);
    } catch {
      return;
    }
    let size = st.size;
    if (size < f.readPos || !sameStart(f.fd, f.id, size, this.scratch)) {
      // Truncated (copytruncate, `> file`), or rewritten in place / a reused inode: start over.
      if (size < f.readPos) this.counters.truncations++;
      else this.counters.replaced++;
      this.host.notice(
        `${f.file}: ${size < f.readPos ? `truncated (size ${size} < offset ${f.readPos})` : 'rewritten (its first bytes changed)'}; reading it again from the start`,
      );
      this.host.beforeChunk(f.relay, f.file);
      f.lines.flush();
      f.splitter.resumeAt(0, 0);
      f.readPos = 0;
      const fp = fingerprintOf(f.fd, size, this.scratch);
      f.id = { ...f.id, fp: fp.fp, fpLen: fp.fpLen };
    }
    if (size <= f.readPos) return;
    const buf = this.chunk;
    this.host.beforeChunk(f.relay, f.file);
    while (f.readPos < size) {
      const n = readSync(f.fd, buf, 0, Math.min(buf.length, size - f.readPos), f.readPos);
      if (n === 0) break;
      f.readPos += n;
      this.counters.bytesRead += n;
      f.splitter.push(buf.subarray(0, n));
      if (f.readPos >= size) {
        // Bytes may have been appended while we processed: take them in this round as well.
        const again = fstatSync(f.fd).size;
        if (again > size) size = again;
      }
    }
    f.lastDataAt = now;
    if (f.id.fpLen < FINGERPRINT_BYTES && f.readPos > f.id.fpLen) {
      const fp = fingerprintOf(f.fd, f.readPos, this.scratch);
      f.id = { ...f.id, fp: fp.fp, fpLen: fp.fpLen };
    }
    this.host.afterChunk(f.relay, now);
  }

  /** atEnd: the file is done (drained); a last line without '\n' is still a line then. */
  private close(f: OpenFile, atEnd: boolean): void {
    this.host.beforeChunk(f.relay, f.file);
    if (atEnd) f.splitter.end();
    f.lines.flush();
    const key = idKey(f.id.dev, f.id.ino);
    this.open.delete(key);
    closeSync(f.fd);
    this.known.set(key, f.position());
    if (this.known.size > MAX_CLOSED + this.open.size) {
      for (const k of this.known.keys()) {
        if (!this.open.has(k)) {
          this.known.delete(k);
          break;
        }
      }
    }
  }

  private report(slot: Slot, message: string): void {
    if (slot.reported === message) return;
    slot.reported = message;
    this.host.notice(message);
  }

  private updateWatches(): void {
    if (!this.opts.watch || !this.started || this.stopped) return;
    const dirs = new Set<string>();
    for (const s of this.specs) dirs.add(path.resolve(path.dirname(s.pattern)));
    const added = [...dirs].filter((d) => !this.watchedDirs.has(d));
    if (added.length === 0) return;
    for (const d of added) this.watchedDirs.add(d);
    if (this.watcher === null) {
      this.watcher = watch(added, { ignoreInitial: true, depth: 0, persistent: false });
      // Any change in a watched directory: look now (coalesced). The stat poll stays the truth.
      this.watcher.on('all', () => this.queuePoll());
      this.watcher.on('error', () => {
        /* hints only: the stat poll carries on */
      });
    } else {
      this.watcher.add(added);
    }
  }

  private queuePoll(): void {
    if (this.pollQueued || this.stopped) return;
    this.pollQueued = true;
    setImmediate(() => {
      this.pollQueued = false;
      this.pollAll();
    });
  }
}

/** Start of the last complete line before `size` (following from the end must not begin mid-line). */
function lastLineStart(fd: number, size: number, buf: Buffer): number {
  if (size === 0) return 0;
  const want = Math.min(size, 65536, buf.length);
  const n = readSync(fd, buf, 0, want, size - want);
  const nl = buf.subarray(0, n).lastIndexOf(10);
  return nl < 0 ? size : size - want + nl + 1;
}

export function hasGlob(p: string): boolean {
  return /[*?[]/.test(path.basename(p));
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          glob
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function isGlobMatchOfAny(file: string, specs: LogSpec[]): boolean {
  for (const s of specs) {
    if (!hasGlob(s.pattern)) continue;
    if (
      path.resolve(path.dirname(s.pattern)) === path.dirname(file) &&
      globToRegExp(path.basename(s.pattern)).test(path.basename(file))
    )
      return true;
  }
  return false;
}

/** `relay-a.log` → `relay-a`; `/var/log/relay/current` → `current`. */
export function relayFromFileName(file: string): string {
  const base = path.basename(file);
  const stripped = base.replace(/(\.\d+)?(\.log|\.txt|\.out)?(\.\d+)?$/, '');
  return stripped === '' ? base : stripped;
}
