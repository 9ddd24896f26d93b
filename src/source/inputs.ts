/**
 * What `replay` reads: regular files, gzip'd files (logrotate's `relay.log.2.gz`), `-` for
 * stdin, FIFOs and process substitutions (`<(zcat …)`, `/dev/stdin`), in any mix, in the
 * order given. gzip is recognised by its magic bytes (1f 8b), never by the name, and
 * decompressed on the fly (concatenated members as `gzip -d` does). Regular plain files keep
 * the double-buffered positional reader; everything else is read as a stream.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { fstatSync } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LineSplitter, readFileLines, type LineSink, type ReadOptions, type ReadStats } from './file-lines.js';
import { describeFsError } from './fs-errors.js';

export const STDIN_ARG = '-';
/** How stdin (`-`) is named in the report and in `file:line`. */
export const STDIN_PATH = '<stdin>';

export interface InputSpec {
  /** As given on the command line (`-` for stdin). */
  arg: string;
  /** As shown in the report and in `file:line`. */
  path: string;
  /** A regular file: it can be read by position, and its size is known. */
  regular: boolean;
  /** Size on disk (compressed size for a .gz); null for pipes and other streams. */
  size: number | null;
  /** The date for layouts without one. */
  mtime: Date;
}

/** An input the user must fix before anything is read (missing, unreadable, a directory). */
export class InputSpecError extends Error {}

export async function resolveInputs(args: readonly string[]): Promise<InputSpec[]> {
  const out: InputSpec[] = [];
  let stdinSeen = false;
  for (const arg of args) {
    if (arg === STDIN_ARG) {
      if (stdinSeen) throw new InputSpecError(`-: stdin given more than once`);
      stdinSeen = true;
      let mtime = new Date();
      try {
        mtime = fstatSync(0).mtime;
      } catch {
        // stdin closed: reading it ends at once; the date does not matter then.
      }
      out.push({ arg, path: STDIN_PATH, regular: false, size: null, mtime });
      continue;
    }
    let st;
    try {
      st = await stat(arg);
    } catch (err) {
      throw new InputSpecError(`${arg}: ${describeFsError(err)}`);
    }
    if (st.isDirectory()) throw new InputSpecError(`${arg}: is a directory`);
    const regular = st.isFile();
    out.push({ arg, path: arg, regular, size: regular ? st.size : null, mtime: st.mtime });
  }
  return out;
}

export interface InputReadStats extends ReadStats {
  /** The input was gzip data (bytes and offsets are then those of the decompressed stream). */
  gzip: boolean;
  /**
   * Reading stopped early (corrupt or truncated gzip, a read error): what went wrong. The
   * complete lines before it were handed out; an incomplete last line is dropped.
   */
  error: string | null;
}

export interface InputReadOptions extends Omit<ReadOptions, 'onProgress'> {
  /** Bytes read from the input so far (compressed bytes for gzip), after each chunk. */
  onProgress?: (bytes: number) => void;
}

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;
const STREAM_CHUNK = 64 * 1024; // as DEFAULT_CHUNK_BYTES (file-lines.ts): small chunk strings stay in the young generation

/**
 * Reads one input as physical lines into `sink`. Errors before the first byte (cannot open)
 * are thrown; errors while reading (corrupt gzip, EIO) end the input with `error` set.
 */
export async function readInputLines(
  input: InputSpec,
  sink: LineSink,
  opts: InputReadOptions,
): Promise<InputReadStats> {
  if (input.regular) {
    if (!(await startsWithGzipMagic(input.arg))) {
      const read = await readFileLines(input.arg, sink, opts);
      return { ...read, gzip: false, error: null };
    }
    return readStream(createReadStream(input.arg, { highWaterMark: STREAM_CHUNK }), true, sink, opts);
  }
  const fd = input.arg === STDIN_ARG ? 0 : inheritedFd(input.arg);
  // An inherited descriptor is read as is: re-opening it by name fails for sockets (ENXIO), which
  // is what stdin is when a process manager rather than a shell pipes into us.
  const source =
    fd === 0
      ? process.stdin
      : fd !== null
        ? createReadStream('', { fd, autoClose: false, highWaterMark: STREAM_CHUNK })
        : createReadStream(input.arg, { highWaterMark: STREAM_CHUNK });
  return readStream(source, null, sink, opts);
}

/** `/dev/stdin`, `/dev/fd/N`, `/proc/self/fd/N`: the descriptor number; null for other paths. */
function inheritedFd(path: string): number | null {
  if (path === '/dev/stdin') return 0;
  const prefix = path.startsWith('/dev/fd/') ? 8 : path.startsWith('/proc/self/fd/') ? 14 : -1;
  if (prefix < 0) return null;
  const n = Number(path.slice(prefix));
  return Number.isInteger(n) && n >= 0 ? n : null;
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1;
  } finally {
    await fh.close();
  }
}

/**
 * A stream's chunks as lines. gzip: true/false when known, null = decide from the first two
 * bytes (a pipe cannot be peeked and re-read, so the head is held and replayed).
 */
async function readStream(
  source: Readable,
  gzipKnown: boolean | null,
  sink: LineSink,
  opts: InputReadOptions,
): Promise<InputReadStats> {
  const splitter = new LineSplitter(sink, opts.maxLineBytes);
  let rawBytes = 0;
  let outBytes = 0;
  let gzip = gzipKnown ?? false;
  let error: string | null = null;
  const iter = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    // Peek: hold chunks until two bytes are known (a pipe may deliver one byte at a time).
    const head: Buffer[] = [];
    let headBytes = 0;
    let ended = false;
    if (gzipKnown === null) {
      while (headBytes < 2) {
        const r = await iter.next();
        if (r.done) {
          ended = true;
          break;
        }
        head.push(r.value);
        headBytes += r.value.length;
      }
      const first = head.length === 1 ? head[0] : Buffer.concat(head);
      gzip = first.length >= 2 && first[0] === GZIP_MAGIC0 && first[1] === GZIP_MAGIC1;
    }
    const raw = async function* (): AsyncGenerator<Buffer> {
      for (const h of head) {
        rawBytes += h.length;
        yield h;
      }
      if (ended) return;
      for (;;) {
        const r = await iter.next();
        if (r.done) return;
        rawBytes += r.value.length;
        yield r.value;
      }
    };
    let chunks: AsyncIterable<Buffer>;
    if (gzip) {
      const gunzip = createGunzip({ chunkSize: 64 * 1024 });
      // pipeline: a source error destroys gunzip with it, so the loop below sees every error.
      pipeline(Readable.from(raw(), { objectMode: false }), gunzip, () => {});
      chunks = gunzip;
    } else {
      chunks = raw();
    }
    for await (const chunk of chunks) {
      outBytes += chunk.length;
      splitter.push(chunk);
      opts.onProgress?.(rawBytes);
      const wait = opts.pace?.();
      if (wait) await wait;
    }
    splitter.end();
  } catch (err) {
    error = describeReadError(err, gzip, splitter.lineNo, outBytes);
  } finally {
    if (source !== process.stdin) source.destroy();
  }
  return { bytes: error === null ? outBytes : splitter.lineStart, lines: splitter.lineNo, gzip, error };
}

function describeReadError(err: unknown, gzip: boolean, lines: number, outBytes: number): string {
  const e = err as NodeJS.ErrnoException;
  const where = `after ${lines} complete lines (${outBytes} bytes${gzip ? ' of decompressed output' : ''})`;
  if (gzip && e.code === 'Z_BUF_ERROR') return `truncated gzip data (${e.message}) ${where}`;
  if (gzip && typeof e.code === 'string' && e.code.startsWith('Z_')) return `corrupt gzip data (${e.message}) ${where}`;
  return `read error: ${describeFsError(err)} ${where}`;
}
