import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepText } from '../../src/parse/record.js';
import { readFileLines, type LineSink } from '../../src/source/file-lines.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pollscope-lines-'));

async function read(bytes: Buffer, chunkBytes: number, maxLineBytes = 1 << 20) {
  const file = path.join(dir, `f${chunkBytes}-${maxLineBytes}.log`);
  writeFileSync(file, bytes);
  const lines: Array<[string, number, number]> = [];
  const oversize: Array<[number, number, number]> = [];
  const sink: LineSink = {
    // A raw line holds its bytes one char per byte: it must be exactly the file's bytes there,
    // and decode (keepText) to what a UTF-8 decoder makes of them.
    line: (t, off, n, raw) => {
      if (raw) expect(Buffer.from(t, 'latin1').equals(bytes.subarray(off, off + t.length))).toBe(true);
      lines.push([raw ? keepText(t, true) : t, off, n]);
    },
    oversize: (off, n, b) => oversize.push([off, n, b]),
  };
  const stats = await readFileLines(file, sink, { maxLineBytes, chunkBytes });
  return { lines, oversize, stats };
}

/** Byte offsets of each line start, computed independently from the raw bytes. */
function lineStarts(bytes: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10 && i + 1 < bytes.length) starts.push(i + 1);
  return starts;
}

describe('readFileLines', () => {
  const text = Buffer.concat([
    Buffer.from('[2022-04-21T22:35:27.437652Z TRACE libp2p_swarm] close time.busy=41.2µs time.idle=3.10µs\n'),
    Buffer.from('ascii only line\n'),
    Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0xc3, 0x20, 0x00, 0x0a]), // invalid UTF-8 and a NUL
    Buffer.from('日本語 and emoji 🎉 straddle chunk edges\n'),
    Buffer.from('last line without newline'),
  ]);

  for (const chunk of [3, 7, 16, 64, 1 << 16]) {
    it(`splits lines with exact byte offsets at chunk size ${chunk}`, async () => {
      const { lines, stats } = await read(text, chunk);
      expect(lines.map((l) => l[0])).toEqual([
        '[2022-04-21T22:35:27.437652Z TRACE libp2p_swarm] close time.busy=41.2µs time.idle=3.10µs',
        'ascii only line',
        'bad \ufffd\ufffd\ufffd \u0000',
        '日本語 and emoji 🎉 straddle chunk edges',
        'last line without newline',
      ]);
      expect(lines.map((l) => l[1])).toEqual(lineStarts(text));
      expect(lines.map((l) => l[2])).toEqual([1, 2, 3, 4, 5]);
      expect(stats).toEqual({ bytes: text.length, lines: 5 });
    });
  }

  it('skips lines over the limit without buffering them, inside and across chunks', async () => {
    const long = 'y'.repeat(5000);
    const bytes = Buffer.from(`short\n${long}\nmid\n${long}`);
    for (const chunk of [64, 1 << 16]) {
      const { lines, oversize } = await read(bytes, chunk, 100);
      expect(lines.map((l) => [l[0], l[1], l[2]])).toEqual([
        ['short', 0, 1],
        ['mid', 5007, 3],
      ]);
      expect(oversize).toEqual([
        [6, 2, 5000],
        [5011, 4, 5000],
      ]);
    }
  });
});

describe('readFileLines on mostly-ASCII data with rare high bytes', () => {
  // Random lines: mostly ASCII, some with µ / CJK / invalid bytes, some over the limit; the
  // lines must equal an independent split + UTF-8 decode at every chunk size.
  function randomLog(seed: number): Buffer {
    let x = seed;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    const parts: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = rnd(100);
      const len = rnd(kind < 2 ? 9000 : 200);
      let s = 'a'.repeat(len);
      if (kind < 5) s += 'time.busy=41.2µs';
      else if (kind < 7) s += '日本語';
      const b = Buffer.from(s);
      parts.push(kind === 7 ? Buffer.concat([b, Buffer.from([0xff, 0xc3])]) : b, Buffer.from('\n'));
    }
    return Buffer.concat(parts);
  }

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: same lines as a reference split at chunk sizes 1000, 4096, 70000, 1 MiB`, async () => {
      const bytes = randomLog(seed);
      const expected: string[] = [];
      let s = 0;
      for (let i = 0; i < bytes.length; i++)
        if (bytes[i] === 10) {
          if (i - s <= 5000) expected.push(bytes.toString('utf8', s, i));
          s = i + 1;
        }
      for (const chunk of [1000, 4096, 70000, 1 << 20]) {
        const { lines, oversize } = await read(bytes, chunk, 5000);
        expect(lines.map((l) => l[0])).toEqual(expected);
        expect(lines.length + oversize.length).toBe(3000);
      }
    });
  }
});
