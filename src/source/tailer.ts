/**
 * Follows log files as they grow, rotate and get truncated, and feeds every complete line once
 * to the relay's line reader. chokidar events are only a hint to look now; the ground truth is a
 * periodic stat of every followed path (inotify can overflow, network file systems send nothing).
 *
 * A followed path (a `--log` path, or each file a glob matched: a FollowedPath) has at most
 * one current file (the one at its path) plus files that left the path (renamed by rotation, or
 * deleted) and are read to their end before they are closed ("draining"): the relay may still
 * write a few lines to the old file before it reopens. Reads are synchronous: a chunk is read and
 * handed through the pipeline before the next, so the order of lines is the order of bytes.
 * Which file is which (rotation, truncation, inode reuse) is decided in rotation.ts; which paths
 * a source names, in glob.ts.
 */
import { closeSync, fstatSync, openSync, statSync, type Stats } from 'node:fs';
import { FINGERPRINT_BYTES, type FilePosition } from './checkpoint.js';
import { describeFsError } from './fs-errors.js';
import { DirectoryHints, expandSpec, isGlobMatchOfAny, relayFromFileName, type LogSpec } from './glob.js';
import { OpenFile, type TailerCounters, type TailerHost } from './open-file.js';
import {
  findCopyOf,
  findUnreadGenerations,
  identityOf,
  idKey,
  ReadPositions,
  lastLineStart,
  type UnreadGeneration,
} from './rotation.js';

export { hasGlob, globToRegExp, relayFromFileName, type LogSpec } from './glob.js';
export type { TailerCounters, TailerHost } from './open-file.js';

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

/** One followed path: the file at it now, and the ones that left it and are still read. */
class FollowedPath {
  current: OpenFile | null = null;
  readonly draining: OpenFile[] = [];
  /** Problem last reported for this path (reported once until it changes). */
  reported = '';
  /** Only a file found by the first look at startup is "seen the first time" for --from; later ones are new: from 0. */
  existedAtStart: boolean;
  /**
   * Wall time of the last look that found our current file at the path (or opened it there).
   * A generation that left the path unread since was created after it, so it was modified after
   * it. A look that found the path missing, or a file we could not open, does not count: the
   * generation at the path before that look may have been written before it.
   */
  confirmedAtMs = Date.now();
  constructor(
    readonly file: string,
    readonly relay: string,
    atStartup: boolean,
  ) {
    this.existedAtStart = atStartup;
  }
}

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
  private readonly paths = new Map<string, FollowedPath>();
  private specs: LogSpec[] = [];
  /** Files open anywhere, by dev:ino: one file is read by one reader only. */
  private readonly open = new Map<string, OpenFile>();
  private readonly readPositions: ReadPositions;
  private readonly chunk: Buffer;
  private readonly scratch = Buffer.allocUnsafe(FINGERPRINT_BYTES);
  private readonly isOpen = (key: string): boolean => this.open.has(key);
  /** chokidar change hints: any change in a watched directory makes us look now (coalesced). */
  private readonly hints = new DirectoryHints(() => this.pollAll());
  private timer: NodeJS.Timeout | null = null;
  private activeTimer: NodeJS.Timeout | null = null;
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
    this.readPositions = new ReadPositions(saved);
  }

  /** Sets the followed paths/globs (startup and SIGHUP): new ones start, dropped ones are closed at their position. */
  setSources(specs: LogSpec[]): void {
    this.specs = specs;
    const wanted = new Set<string>();
    for (const s of specs) for (const f of expandSpec(s)) wanted.add(f);
    for (const [file, fp] of this.paths) {
      if (wanted.has(file) || isGlobMatchOfAny(file, specs)) continue;
      for (const f of [...fp.draining, ...(fp.current ? [fp.current] : [])]) this.close(f, false);
      this.paths.delete(file);
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
    for (const fp of this.paths.values()) this.pollPath(fp, now);
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

  /**
   * Quiet-time flushes: the held record (so a wake line reaches the model now) and, if enabled, a
   * partial line. What they hand over was read at the file's last data: the host hears it so.
   */
  housekeep(now: number): void {
    for (const f of this.open.values()) {
      const quiet = now - f.lastDataAt;
      let handedOver = false;
      if (
        this.opts.flushPartialAfterMs !== null &&
        quiet >= this.opts.flushPartialAfterMs &&
        f.splitter.pendingBytes > 0 &&
        f.splitter.flushPartial()
      ) {
        this.counters.partialFlushes++;
        handedOver = true;
      }
      if (quiet >= this.opts.flushRecordAfterMs && f.lines.held !== null) {
        f.lines.flush();
        handedOver = true;
      }
      if (handedOver) this.host.afterChunk(f.relay, f.lastDataAt, f.lines.takeFirstLogSec());
    }
  }

  /** Every open file's position plus the remembered closed ones: the checkpoint. */
  positions(): FilePosition[] {
    const out: FilePosition[] = [];
    for (const p of this.readPositions.values()) if (!this.open.has(idKey(p.dev, p.ino))) out.push(p);
    for (const f of this.open.values()) out.push(f.position());
    return out;
  }

  /** Files currently open, for status output. */
  openFiles(): Array<{ file: string; relay: string; offset: number; draining: boolean }> {
    const out = [];
    for (const fp of this.paths.values()) {
      if (fp.current) out.push({ file: fp.current.file, relay: fp.relay, offset: fp.current.readPos, draining: false });
      for (const d of fp.draining) out.push({ file: d.file, relay: d.relay, offset: d.readPos, draining: true });
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
    for (const f of this.open.values()) f.lines.flush();
    const positions = this.positions();
    for (const f of [...this.open.values()]) {
      this.readPositions.restore(f.key, f.position());
      closeSync(f.fd);
      this.open.delete(f.key);
    }
    await this.hints.close();
    return positions;
  }

  // ------------------------------------------------------------------------------------------

  /** Creates a FollowedPath for each path (and new glob match). */
  private discover(): void {
    for (const spec of this.specs) {
      for (const file of expandSpec(spec)) {
        if (this.paths.has(file)) continue;
        const relay = spec.relay ?? relayFromFileName(file);
        this.paths.set(file, new FollowedPath(file, relay, !this.started));
        if (this.started) this.updateWatches();
      }
    }
  }

  private pollPath(fp: FollowedPath, now: number): void {
    this.readDraining(fp, now);
    let st: Stats;
    try {
      st = statSync(fp.file);
    } catch (err) {
      fp.existedAtStart = false;
      if (fp.current !== null) {
        // Deleted or renamed away: what the relay wrote before is still readable through our fd.
        // Not reported yet: with rename rotation the new file usually follows within microseconds.
        this.toDraining(fp, now);
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      this.report(
        fp,
        code === 'ENOENT'
          ? `${fp.file}: does not exist (yet); waiting for it`
          : `${fp.file}: ${describeFsError(err)}; retrying`,
      );
      return;
    }
    if (!st.isFile()) {
      this.report(fp, `${fp.file}: not a regular file; waiting`);
      return;
    }
    const cur = fp.current;
    if (cur !== null && (cur.id.ino !== st.ino || cur.id.dev !== st.dev)) {
      this.counters.rotations++;
      this.toDraining(fp, now);
      // Read the old file to its current end before the new one: lines stay in write order.
      this.readAvailable(fp.draining[fp.draining.length - 1], now);
    }
    if (fp.current === null && !fp.existedAtStart) {
      // A generation created and rotated away since the last confirmed look (two rotations
      // between looks, or the path appearing and rotating before we first saw it) was never at
      // the path when we looked. Read those (oldest first) before the file now at the path.
      for (const f of this.adoptUnread(fp, fp.confirmedAtMs - SIBLING_MTIME_SLACK_MS, now)) {
        this.counters.rotations++;
        this.host.notice(
          `${fp.file}: rotated more than once between two looks; reading ${f.file} from offset ${f.readPos}`,
        );
        this.readAvailable(f, now);
      }
    }
    if (fp.current === null && !this.openAtPath(fp, st, now)) return;
    fp.confirmedAtMs = now;
    this.readAvailable(fp.current!, now);
  }

  /** Reads the files that left the path; closes those quiet for the drain grace. */
  private readDraining(fp: FollowedPath, now: number): void {
    for (let i = 0; i < fp.draining.length; i++) {
      const d = fp.draining[i];
      const before = d.readPos;
      this.readAvailable(d, now);
      if (d.readPos > before) d.drainUntil = now + this.opts.drainGraceMs;
      if (now >= d.drainUntil) {
        this.close(d, true);
        fp.draining.splice(i--, 1);
      }
    }
  }

  private toDraining(fp: FollowedPath, now: number): void {
    const f = fp.current!;
    fp.current = null;
    f.drainUntil = now + this.opts.drainGraceMs;
    fp.draining.push(f);
  }

  /** Opens the file at the path as the current one; false when it cannot be (yet). */
  private openAtPath(fp: FollowedPath, st: Stats, now: number): boolean {
    const key = idKey(st.dev, st.ino);
    if (this.open.has(key)) return false; // read by another path (a glob matching a rotated name)
    let fd: number;
    try {
      fd = openSync(fp.file, 'r');
    } catch (err) {
      this.report(fp, `${fp.file}: ${describeFsError(err)}; retrying`);
      return false;
    }
    const fst = fstatSync(fd);
    if (fst.ino !== st.ino || fst.dev !== st.dev) {
      closeSync(fd);
      return false;
    } // replaced between stat and open: next poll
    let offset = 0;
    let lineNo = 0;
    const id = identityOf(fd, fst, this.scratch);
    const before = this.readPositions.take(key, fd, fst.size, this.scratch);
    if (before === 'reused') {
      this.counters.replaced++; // a new file on a freed inode number: from 0
    } else if (before !== null) {
      offset = Math.min(before.offset, fst.size);
      lineNo = before.lineNo;
    } else if (fp.existedAtStart && this.opts.from === 'end' && !this.readPositions.hasRelay(fp.relay)) {
      offset = lastLineStart(fd, fst.size, this.chunk);
    }
    fp.existedAtStart = false;
    const f = new OpenFile(
      fd,
      id,
      fp.file,
      fp.relay,
      this.host.open(fp.relay, fp.file, fst.mtime),
      this.opts.maxLineBytes,
      offset,
      lineNo,
      now,
    );
    fp.current = f;
    this.open.set(key, f);
    this.counters.filesOpened++;
    if (fp.reported !== '') this.host.notice(`${fp.file}: following again`);
    fp.reported = '';
    return true;
  }

  /**
   * After a restart: files that left a followed path while we were stopped (rotation) are found
   * among the path's siblings and read before the file now at the path, oldest first: a
   * checkpointed file from its saved offset, a file we never saw (created and rotated away while
   * we were down: modified after the checkpoint) from 0.
   */
  private resumeRotatedAway(savedAtMs: number): void {
    const now = Date.now();
    for (const fp of this.paths.values()) {
      const hadCheckpoint = [...this.readPositions.values()].some((p) => p.path === fp.file || p.relay === fp.relay);
      if (!hadCheckpoint) continue;
      // The margin covers files the last polls before the stop had not opened yet.
      for (const f of this.adoptUnread(fp, savedAtMs - UNSEEN_MARGIN_MS, now)) {
        this.host.notice(`${fp.file}: rotated while stopped; reading ${f.file} from offset ${f.readPos} first`);
      }
      fp.existedAtStart = false; // the file now at the path came after the checkpoint: from 0
    }
  }

  /** Opens the path's unread rotated generations (rotation.ts decides which) as draining files. */
  private adoptUnread(fp: FollowedPath, sinceMs: number, now: number): OpenFile[] {
    const found = findUnreadGenerations(
      fp.file,
      sinceMs,
      this.isOpen,
      this.readPositions,
      fp.relay,
      this.scratch,
      (m) => this.host.notice(m),
    );
    return found.map((g) => this.adopt(fp, g, now));
  }

  private adopt(fp: FollowedPath, g: UnreadGeneration, now: number): OpenFile {
    const f = new OpenFile(
      g.fd,
      identityOf(g.fd, g.st, this.scratch),
      g.file,
      fp.relay,
      this.host.open(fp.relay, g.file, g.st.mtime),
      this.opts.maxLineBytes,
      g.offset,
      g.lineNo,
      now,
    );
    f.drainUntil = now + this.opts.drainGraceMs;
    fp.draining.push(f);
    this.open.set(f.key, f);
    this.counters.filesOpened++;
    return f;
  }

  private readAvailable(f: OpenFile, now: number): void {
    f.readAvailable(now, this.chunk, this.scratch, this.host, this.counters, (t) => this.readCopyOf(t, now));
  }

  /**
   * The file at a path was truncated or rewritten: if a sibling is its copy (copytruncate), the
   * lines written after our last read and before the copy are there: read them first, from the
   * offset we had reached (the held record goes first: it is older).
   */
  private readCopyOf(f: OpenFile, now: number): void {
    const fp = this.paths.get(f.file);
    if (fp === undefined || fp.current !== f) return;
    const was: FilePosition = {
      ...f.id,
      path: f.file,
      relay: f.relay,
      offset: f.splitter.lineStart,
      lineNo: f.splitter.lineNo,
    };
    const copy = findCopyOf(fp.file, was, this.isOpen, this.scratch);
    if (copy === null) return;
    f.lines.flush();
    this.host.afterChunk(f.relay, f.lastDataAt, f.lines.takeFirstLogSec());
    const g = this.adopt(fp, { ...copy, offset: was.offset, lineNo: was.lineNo, resumed: true }, now);
    this.host.notice(`${fp.file}: ${copy.file} is its copy (copytruncate); reading it from offset ${was.offset} first`);
    g.readAvailable(now, this.chunk, this.scratch, this.host, this.counters);
  }

  /** atEnd: the file is done (drained); a last line without '\n' is still a line then. */
  private close(f: OpenFile, atEnd: boolean): void {
    if (atEnd) f.splitter.end();
    f.lines.flush();
    this.open.delete(f.key);
    closeSync(f.fd);
    this.readPositions.remember(f.key, f.position(), this.isOpen, this.open.size);
  }

  private report(fp: FollowedPath, message: string): void {
    if (fp.reported === message) return;
    fp.reported = message;
    this.host.notice(message);
  }

  private updateWatches(): void {
    if (this.opts.watch && this.started && !this.stopped) this.hints.watchDirsOf(this.specs);
  }
}
