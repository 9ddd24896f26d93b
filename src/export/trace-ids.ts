/**
 * Deterministic trace and span ids: the same (relay, file identity, byte offset) always gives the
 * same ids, so replaying a log twice, or re-reading it after a restart, updates the same traces in
 * Jaeger instead of adding duplicates.
 *
 * The relay and the file identity are hashed once per file (SHA-256, 8 seed words); each id then
 * mixes the byte offset and a tag (which span of the turn) into those words with murmur3's
 * 32-bit finaliser. fmix32 is a bijection, so two offsets below 4 GiB with the same tag never
 * share the first word of an id: ids are unique within a file, and unrelated across files.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/** Which span of a turn an id is for (part of the hash input). */
export const IdTag = {
  Turn: 0,
  Wait: 1,
  Poll: 2,
  Stall: 3, // + stall kind index (0..3)
  /** A libp2p connection's trace and root span (offset: the connection's first line). */
  Connection: 7,
  /** A Connection::poll span in it (offset: the poll's close line). */
  ConnectionPoll: 8,
} as const;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(w: number): string {
  return HEX[(w >>> 24) & 0xff] + HEX[(w >>> 16) & 0xff] + HEX[(w >>> 8) & 0xff] + HEX[w & 0xff];
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class FileIds {
  private readonly seed: Uint32Array;

  constructor(relay: string, fileIdentity: string) {
    const digest = createHash('sha256').update(relay).update('\0').update(fileIdentity).digest();
    this.seed = new Uint32Array(8);
    for (let i = 0; i < 8; i++) this.seed[i] = digest.readUInt32BE(i * 4);
  }

  private word(i: number, offset: number, tag: number): number {
    const lo = offset >>> 0;
    const hi = Math.floor(offset / 4294967296) >>> 0;
    const a = fmix32((lo + Math.imul(i + 1, 0x9e3779b9)) >>> 0);
    const b = fmix32((Math.imul(hi, 0x27d4eb2f) ^ Math.imul(tag + 1, 0x165667b1) ^ i) >>> 0);
    return fmix32((this.seed[i] ^ a ^ Math.imul(b, 0x85ebca6b)) >>> 0);
  }

  /** 32 hex digits, never all zero. tag: a turn's trace (default), or a stall's own trace. */
  traceId(offset: number, tag: number = IdTag.Turn): string {
    const w0 = this.word(0, offset, tag);
    const w3 = this.word(3, offset, tag);
    return (
      hex32(w0) +
      hex32(this.word(1, offset, tag)) +
      hex32(this.word(2, offset, tag)) +
      hex32(w3 === 0 && w0 === 0 ? 1 : w3)
    );
  }

  /** 16 hex digits, never all zero. */
  spanId(offset: number, tag: number): string {
    const w4 = this.word(4, offset, tag);
    const w5 = this.word(5, offset, tag);
    return hex32(w4) + hex32(w4 === 0 && w5 === 0 ? 1 : w5);
  }
}

/**
 * A file's identity for ids: a hash of its first line, which survives rotation (renames) and
 * copying, unlike the path or the inode. Falls back to the path when the file cannot be read or
 * has no complete first line yet (a live file just created).
 */
export function firstLineIdentity(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl < 0) return `path:${path}`;
    return 'line1:' + createHash('sha256').update(buf.subarray(0, nl)).digest('hex').slice(0, 32);
  } catch {
    return `path:${path}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
