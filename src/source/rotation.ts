/**
 * Rotation forensics: which file is which, and where to resume it. A file is identified by device
 * + inode + a hash of its first bytes (checkpoint.ts). An inode number alone proves nothing: ext4
 * hands a freed inode to the next file created, so after a delete (or a rotated generation being
 * removed) a new generation often carries an old file's number. Every decision here therefore
 * checks the first bytes too, and a position whose bytes no longer match is the old file's, not
 * this one's.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { FINGERPRINT_BYTES, fingerprintOf, sameStart, type FileIdentity, type FilePosition } from './checkpoint.js';
import { describeFsError } from './fs-errors.js';
import { rotatedSiblings } from './glob.js';
import type { OpenFile } from './open-file.js';

export const idKey = (dev: number, ino: number): string => `${dev}:${ino}`;

/** Closed files remembered (so a glob that matches a rotated name does not read it again). */
const MAX_CLOSED = 256;

/** Identity of the file behind `fd` as it is now (fingerprint of up to its first 1 KiB). */
export function identityOf(fd: number, st: Stats, scratch: Buffer): FileIdentity {
  const fp = fingerprintOf(fd, st.size, scratch);
  return { dev: st.dev, ino: st.ino, fp: fp.fp, fpLen: fp.fpLen };
}

/**
 * What happened to an open file since we read it, judged from its size and first bytes:
 * `truncated` (copytruncate, `> file`: shorter than our offset), `rewritten` (same inode, other
 * first bytes: rewritten in place), or null (only appended to, or unchanged).
 */
export function changeOf(f: OpenFile, size: number, scratch: Buffer): 'truncated' | 'rewritten' | null {
  if (size < f.readPos) return 'truncated';
  return sameStart(f.fd, f.id, size, scratch) ? null : 'rewritten';
}

/** Start of the last complete line before `size` (following from the end must not begin mid-line). */
export function lastLineStart(fd: number, size: number, buf: Buffer): number {
  if (size === 0) return 0;
  const want = Math.min(size, 65536, buf.length);
  const n = readSync(fd, buf, 0, want, size - want);
  const nl = buf.subarray(0, n).lastIndexOf(10);
  return nl < 0 ? size : size - want + nl + 1;
}

/**
 * Where files read before stopped (the checkpoint's positions, and files closed in this run), by
 * dev:ino: a file seen again resumes there.
 */
export class ReadPositions {
  private readonly byKey = new Map<string, FilePosition>();

  constructor(saved: readonly FilePosition[]) {
    for (const p of saved) this.byKey.set(idKey(p.dev, p.ino), p);
  }

  values(): IterableIterator<FilePosition> {
    return this.byKey.values();
  }

  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  get(key: string): FilePosition | undefined {
    return this.byKey.get(key);
  }

  /** Puts back a position taken by `take` (no eviction: it was there a moment ago). */
  restore(key: string, pos: FilePosition): void {
    this.byKey.set(key, pos);
  }

  /** Whether any file of `relay` was read before (then its new files start at 0, whatever --from says). */
  hasRelay(relay: string): boolean {
    for (const p of this.byKey.values()) if (p.relay === relay) return true;
    return false;
  }

  /** A closed file's position; the oldest closed one is forgotten beyond MAX_CLOSED (open ones are kept). */
  remember(key: string, pos: FilePosition, isOpen: (key: string) => boolean, openCount: number): void {
    this.byKey.delete(key); // re-inserted last: the eviction below takes the oldest
    this.byKey.set(key, pos);
    if (this.byKey.size <= MAX_CLOSED + openCount) return;
    for (const k of this.byKey.keys())
      if (!isOpen(k)) {
        this.byKey.delete(k);
        return;
      }
  }

  /**
   * Takes the position saved for the file behind `fd` out of the store: the position when it is
   * that file (same dev:ino and the same first bytes); `reused` when the inode number was the old
   * file's but the bytes are not (a new file: from 0); null when nothing was known.
   */
  take(key: string, fd: number, size: number, scratch: Buffer): FilePosition | 'reused' | null {
    const p = this.byKey.get(key);
    if (p === undefined) return null;
    this.byKey.delete(key);
    return sameStart(fd, p, size, scratch) ? p : 'reused';
  }

  /**
   * A known position of `relay` whose file started with the same bytes as `fd`, of which `fd` is
   * then a copy (copytruncate): what was read of the original is processed already. Only a
   * fingerprint that covers all that was read, or the full FINGERPRINT_BYTES, proves it: a short
   * one (a file seen almost empty) matches any file whose lines share its first bytes.
   */
  copiedFrom(relay: string, fd: number, size: number, scratch: Buffer): FilePosition | null {
    for (const p of this.byKey.values()) {
      if (p.relay !== relay || p.fpLen === 0 || p.offset > size) continue;
      if (p.fpLen < FINGERPRINT_BYTES && p.fpLen < p.offset) continue;
      if (sameStart(fd, p, size, scratch)) return p;
    }
    return null;
  }
}

/** A rotated generation found unread: its open fd and where to start. */
export interface UnreadGeneration {
  file: string;
  fd: number;
  st: Stats;
  offset: number;
  lineNo: number;
  /** Resumed from a checkpointed/closed position, or a copy of a known file. */
  resumed: boolean;
}

/**
 * Rotated generations of `file` not read to their end, oldest first, opened: siblings
 * (`relay.log.1`, `relay.log-…`) that are not the file at the path nor open, and either
 * - a known file (same inode and first bytes) with more bytes than its position: from there, or
 * - never seen (or a new file on a known file's reused inode), modified after `sinceMs` (it came
 *   after the last look that had the path's file open): from 0, or from the offset of the known
 *   file it is a copy of.
 * Entries found stale (inode reused) are dropped from `readPositions`.
 */
export function findUnreadGenerations(
  file: string,
  sinceMs: number,
  isOpen: (key: string) => boolean,
  readPositions: ReadPositions,
  relay: string,
  scratch: Buffer,
  notice: (message: string) => void,
): UnreadGeneration[] {
  let currentKey = '';
  try {
    const st = statSync(file);
    currentKey = idKey(st.dev, st.ino);
  } catch {
    /* not there */
  }
  const candidates: Array<{ file: string; st: Stats }> = [];
  for (const sibling of rotatedSiblings(file)) {
    let st: Stats;
    try {
      st = statSync(sibling);
    } catch {
      continue;
    }
    const key = idKey(st.dev, st.ino);
    if (!st.isFile() || key === currentKey || isOpen(key)) continue;
    // A known file fully read and not modified since is done; a known inode with a new mtime may
    // be a new file on a reused inode: its first bytes decide below.
    const pos = readPositions.get(key);
    if (st.mtimeMs > sinceMs || (pos !== undefined && st.size > pos.offset)) candidates.push({ file: sibling, st });
  }
  candidates.sort((a, b) => a.st.mtimeMs - b.st.mtimeMs);
  const out: UnreadGeneration[] = [];
  for (const c of candidates) {
    let fd: number;
    try {
      fd = openSync(c.file, 'r');
    } catch (err) {
      notice(`${c.file}: ${describeFsError(err)}`);
      continue;
    }
    const st = fstatSync(fd);
    const key = idKey(st.dev, st.ino);
    if (key !== idKey(c.st.dev, c.st.ino)) {
      closeSync(fd); // renamed again meanwhile: the next look finds it under its new name
      continue;
    }
    const pos = readPositions.take(key, fd, st.size, scratch);
    let from: FilePosition | null;
    if (pos !== null && pos !== 'reused') {
      if (st.size <= pos.offset) {
        readPositions.restore(key, pos); // read to its end already: stays known
        closeSync(fd);
        continue;
      }
      from = pos;
    } else if (c.st.mtimeMs > sinceMs) {
      from = readPositions.copiedFrom(relay, fd, st.size, scratch);
    } else {
      closeSync(fd); // an old generation on a reused inode, unchanged since before our last look
      continue;
    }
    out.push({
      file: c.file,
      fd,
      st,
      offset: from !== null ? Math.min(from.offset, st.size) : 0,
      lineNo: from?.lineNo ?? 0,
      resumed: from !== null,
    });
  }
  return out;
}

/**
 * copytruncate: the copy of an open file that was just found truncated (or rewritten) — a
 * sibling not open whose first bytes are those the file had (`was`: its identity and what we had
 * read). logrotate copies before it truncates, so lines written after our last read and before the
 * copy are in the copy only, beyond `was.offset`. The caller reads the copy from there; reading it
 * also makes it a known file, so a restart does not take it for a never-seen generation.
 */
export function findCopyOf(
  file: string,
  was: FilePosition,
  isOpen: (key: string) => boolean,
  scratch: Buffer,
): { file: string; fd: number; st: Stats } | null {
  if (was.fpLen === 0 || (was.fpLen < FINGERPRINT_BYTES && was.fpLen < was.offset)) return null;
  for (const sibling of rotatedSiblings(file)) {
    let fd: number;
    try {
      fd = openSync(sibling, 'r');
    } catch {
      continue;
    }
    const st = fstatSync(fd);
    if (st.isFile() && !isOpen(idKey(st.dev, st.ino)) && st.size >= was.offset && sameStart(fd, was, st.size, scratch))
      return { file: sibling, fd, st };
    closeSync(fd);
  }
  return null;
}
