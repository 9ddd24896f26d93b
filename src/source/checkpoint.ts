/**
 * The live daemon's position state: one JSON file, written atomically (temp file + fsync +
 * rename), that says for every followed file how far it was processed. A file is identified by
 * device + inode + a hash of its first bytes, so a rotated file is found again under its new name
 * and a new file that reuses a freed inode is not mistaken for the old one.
 *
 * One daemon per checkpoint: `open()` takes an exclusive lock (`FILE.lock`, a directory made by
 * proper-lockfile, with an `owner` file naming the pid), so a second daemon on the same file
 * refuses to start instead of overwriting the first one's positions. A lock left by a killed
 * daemon (kill -9, power loss) is recognised as stale from its owner's pid (or, for an owner on
 * another host, from proper-lockfile's mtime) and taken over.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ConfigError } from '../config-error.js';
import { describeFsError } from './fs-errors.js';

/** Bytes hashed for a file's fingerprint: enough to cover the first log lines (timestamps differ). */
export const FINGERPRINT_BYTES = 1024;

export interface FileIdentity {
  dev: number;
  ino: number;
  /** sha1 (hex) of the first `fpLen` bytes; fpLen grows with the file up to FINGERPRINT_BYTES. */
  fp: string;
  fpLen: number;
}

/** How far one file was processed: every line before `offset` went through the pipeline. */
export interface FilePosition extends FileIdentity {
  /** Path the file had when it was opened (it may have been renamed since). */
  path: string;
  relay: string;
  offset: number;
  /** Physical lines before `offset` (as far as this daemon counted them). */
  lineNo: number;
}

export interface CheckpointState {
  version: 1;
  savedAt: string;
  files: FilePosition[];
  /**
   * `--audit-records`: the audit file's length when these positions were saved. Records written
   * after it belong to lines the next start reads again, so the next start cuts them off.
   */
  auditBytes?: number;
  /** `--audit-records`: device:inode of the audit file those bytes are in (a file we did not write is never cut). */
  auditId?: string;
}

export { CHECKPOINT_FILE_NAME, defaultCheckpointPath } from './state-dir.js';

/** A checkpoint that cannot be used at start (exit 2, like a bad configuration). */
export class CheckpointError extends ConfigError {}

/** A file system error as a short phrase, with the codes a state file meets (full disk, read-only mount). */
export function describeSaveError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'EIO':
      return 'I/O error';
    default:
      return describeFsError(err);
  }
}

export function fingerprintOf(fd: number, size: number, scratch: Buffer): { fp: string; fpLen: number } {
  const want = Math.min(size, FINGERPRINT_BYTES, scratch.length);
  let got = 0;
  while (got < want) {
    const n = readSync(fd, scratch, got, want - got, got);
    if (n === 0) break;
    got += n;
  }
  return { fp: createHash('sha1').update(scratch.subarray(0, got)).digest('hex'), fpLen: got };
}

/** Whether the file behind fd still starts with the bytes its identity was taken from. */
export function sameStart(fd: number, id: FileIdentity, size: number, scratch: Buffer): boolean {
  if (id.fpLen === 0) return true;
  if (size < id.fpLen) return false;
  const now = fingerprintOf(fd, id.fpLen, scratch);
  return now.fpLen === id.fpLen && now.fp === id.fp;
}

/** Who holds a checkpoint lock: written into the lock directory right after it is made. */
interface LockOwner {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id: a pid from before a reboot is not alive (null where unreadable). */
  boot: string | null;
  since: string;
}

/** Unrefreshed this long, a lock is stale even when its owner cannot be checked (another host). */
const LOCK_STALE_MS = 30_000;
const OWNER_FILE = 'owner';

/** Checkpoints this process holds the lock of (a second daemon in one process must be refused too). */
const heldHere = new Set<string>();
const releaseAtExit = new Map<string, string>();
let exitHookInstalled = false;

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(lockDir: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path.join(lockDir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return null;
    return { pid: o.pid, host: o.host, boot: typeof o.boot === 'string' ? o.boot : null, since: String(o.since) };
  } catch {
    return null;
  }
}

function removeLockDir(lockDir: string): void {
  try {
    unlinkSync(path.join(lockDir, OWNER_FILE));
  } catch {
    // no owner file (a lock made by something else, or removed meanwhile)
  }
  try {
    rmdirSync(lockDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * One checkpoint file. `open()` checks its directory and takes the lock; `load()` reads and
 * validates it; `save()` replaces it atomically and throws the file system's error when it cannot
 * (the daemon keeps its positions in memory and retries); `close()` releases the lock.
 */
export class CheckpointStore {
  readonly path: string;
  readonly lockDir: string;
  private release: (() => void) | null = null;

  /** createDir: make the directory (the default location); otherwise it must exist. */
  constructor(
    file: string,
    private readonly createDir = false,
  ) {
    this.path = path.resolve(file);
    this.lockDir = `${this.path}.lock`;
  }

  get locked(): boolean {
    return this.release !== null;
  }

  /**
   * Checks the directory and takes the lock; throws CheckpointError (a one-line reason naming the
   * path) when the checkpoint cannot be used. onCompromised: the lock was lost while running
   * (removed, or taken over after we did not refresh it for LOCK_STALE_MS).
   */
  open(onCompromised: (reason: string) => void = () => {}): void {
    const dir = path.dirname(this.path);
    if (this.createDir) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new CheckpointError(
          `checkpoint ${this.path}: cannot create directory ${dir}: ${describeSaveError(err)} (give another --checkpoint)`,
        );
      }
    }
    let st;
    try {
      st = statSync(dir);
    } catch (err) {
      throw new CheckpointError(
        `checkpoint ${this.path}: directory ${dir} ${describeSaveError(err)} (create it, or give another --checkpoint)`,
      );
    }
    if (!st.isDirectory()) throw new CheckpointError(`checkpoint ${this.path}: ${dir} is not a directory`);
    this.lock(onCompromised);
  }

  /** Takes the lock again after it was lost (the daemon retries on its checkpoint interval). */
  relock(onCompromised: (reason: string) => void): void {
    if (this.release === null) this.lock(onCompromised);
  }

  private lock(onCompromised: (reason: string) => void): void {
    for (let attempt = 0; ; attempt++) {
      try {
        if (heldHere.has(this.path)) throw Object.assign(new Error('held in this process'), { code: 'ELOCKED' });
        this.release = lockfile.lockSync(this.path, {
          realpath: false, // the checkpoint itself may not exist yet
          stale: LOCK_STALE_MS,
          onCompromised: (err) => {
            this.release = null;
            heldHere.delete(this.path);
            releaseAtExit.delete(this.path);
            onCompromised(`lock ${this.lockDir} lost: ${err.message}`);
          },
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ENOTEMPTY: proper-lockfile found the lock unrefreshed for LOCK_STALE_MS but could not remove it (our owner file).
        if (code !== 'ELOCKED' && code !== 'ENOTEMPTY')
          throw new CheckpointError(
            `checkpoint ${this.path}: cannot create its lock ${this.lockDir}: ${describeSaveError(err)}`,
          );
        const owner = readOwner(this.lockDir);
        if (attempt === 0 && this.ownerGone(owner, code === 'ENOTEMPTY')) {
          removeLockDir(this.lockDir);
          continue;
        }
        throw new CheckpointError(this.inUseMessage(owner));
      }
      break;
    }
    const owner: LockOwner = { pid: process.pid, host: os.hostname(), boot: bootId(), since: new Date().toISOString() };
    try {
      // proper-lockfile keeps the lock's mtime and calls the lock compromised when it changes;
      // a file created in the directory changes it, so it is put back.
      const { mtime } = statSync(this.lockDir);
      writeFileSync(path.join(this.lockDir, OWNER_FILE), JSON.stringify(owner) + '\n');
      utimesSync(this.lockDir, mtime, mtime);
    } catch (err) {
      this.close();
      throw new CheckpointError(`checkpoint ${this.path}: cannot write in ${this.lockDir}: ${describeSaveError(err)}`);
    }
    heldHere.add(this.path);
    // proper-lockfile removes its locks at exit, but not one holding our owner file.
    releaseAtExit.set(this.path, this.lockDir);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const dir of releaseAtExit.values()) {
          try {
            removeLockDir(dir);
          } catch {
            // exiting anyway: the next start sees our pid gone
          }
        }
      });
    }
  }

  /** A lock whose owner is gone: dead pid on this host (or this very process, restarted as the same pid), or unrefreshed on another host. */
  private ownerGone(owner: LockOwner | null, unrefreshed: boolean): boolean {
    if (owner === null) return unrefreshed;
    if (owner.host !== os.hostname()) return unrefreshed;
    const boot = bootId();
    if (boot !== null && owner.boot !== null && owner.boot !== boot) return true;
    if (owner.pid === process.pid) return !heldHere.has(this.path);
    return !pidAlive(owner.pid);
  }

  private inUseMessage(owner: LockOwner | null): string {
    const who =
      owner === null
        ? `lock ${this.lockDir} exists and names no owner; if no pollscope is running, remove that directory`
        : owner.pid === process.pid && owner.host === os.hostname()
          ? 'by another daemon in this process'
          : `by pid ${owner.pid} on ${owner.host} since ${owner.since}, lock ${this.lockDir}`;
    return `checkpoint ${this.path} is in use (${who}); two daemons must not share a checkpoint: stop the other one or give this one its own --checkpoint`;
  }

  /** Releases the lock (stop). */
  close(): void {
    const release = this.release;
    this.release = null;
    heldHere.delete(this.path);
    releaseAtExit.delete(this.path);
    if (release === null) return;
    try {
      unlinkSync(path.join(this.lockDir, OWNER_FILE));
    } catch {
      // already gone
    }
    try {
      release();
    } catch {
      // removed meanwhile: nothing to release
    }
  }

  /** The saved state, or null when there is none; a damaged or foreign file is a CheckpointError naming it. */
  load(): CheckpointState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CheckpointError(`checkpoint ${this.path}: cannot read it: ${describeSaveError(err)}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the input: not for a terminal when the file is binary.
      throw this.unusable(text.trim() === '' ? 'the file is empty' : 'the file is not JSON');
    }
    const problem = shapeProblem(doc);
    if (problem !== null) throw this.unusable(problem);
    return doc as CheckpointState;
  }

  private unusable(why: string): CheckpointError {
    return new CheckpointError(
      `checkpoint ${this.path} is not a pollscope checkpoint (${why}). To start over, move it away or delete it ` +
        `(files are then read as on a first start, --from); or give another --checkpoint`,
    );
  }

  /** Temp file + fsync + rename: a reader (or the next start after kill -9 or power loss) sees the old or the new state, never half of one. Throws the file system's error. */
  save(files: FilePosition[], auditBytes?: number, auditId?: string): void {
    const state: CheckpointState = { version: 1, savedAt: new Date().toISOString(), files, auditBytes, auditId };
    const data = Buffer.from(JSON.stringify(state) + '\n');
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Why `doc` is not a version-1 checkpoint (null: it is one). */
function shapeProblem(doc: unknown): string | null {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'not a JSON object';
  const d = doc as Record<string, unknown>;
  if (d.version !== 1) return `version ${JSON.stringify(d.version) ?? 'missing'}, expected 1`;
  if (typeof d.savedAt !== 'string' || Number.isNaN(Date.parse(d.savedAt))) return 'savedAt is not a time';
  if (!Array.isArray(d.files)) return 'files is not a list';
  if (d.auditBytes !== undefined && !isCount(d.auditBytes)) return 'auditBytes is not a byte count';
  if (d.auditId !== undefined && typeof d.auditId !== 'string') return 'auditId is not a string';
  for (let i = 0; i < d.files.length; i++) {
    const f = d.files[i] as Record<string, unknown> | null;
    if (f === null || typeof f !== 'object') return `files[${i}] is not an object`;
    for (const k of ['dev', 'ino', 'fpLen', 'offset', 'lineNo'] as const)
      if (!isCount(f[k])) return `files[${i}].${k} is not a non-negative integer`;
    for (const k of ['fp', 'path', 'relay'] as const)
      if (typeof f[k] !== 'string') return `files[${i}].${k} is not a string`;
  }
  return null;
}
