/**
 * The live daemon's position state: one JSON file, written atomically (temp file + rename), that
 * says for every followed file how far it was processed. A file is identified by device + inode +
 * a hash of its first bytes, so a rotated file is found again under its new name and a new file
 * that reuses a freed inode is not mistaken for the old one.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';

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

export class CheckpointStore {
  constructor(readonly path: string) {}

  /** The saved state, or null when there is none; a damaged file is an error the user must see. */
  load(): CheckpointState | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const state = JSON.parse(text) as CheckpointState;
    if (state.version !== 1 || !Array.isArray(state.files))
      throw new Error(`${this.path}: not a pollscope checkpoint (version ${String(state.version)})`);
    return state;
  }

  /** Temp file + rename: a reader (or the next start after kill -9) sees the old or the new state, never half of one. */
  save(files: FilePosition[], auditBytes?: number): void {
    const state: CheckpointState = { version: 1, savedAt: new Date().toISOString(), files, auditBytes };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(state) + '\n');
    renameSync(tmp, this.path);
  }
}
