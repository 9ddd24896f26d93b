/**
 * Raw records (LogRecord.raw): lines of a chunk that is not pure ASCII reach the parsers decoded
 * latin1, one char per byte. What is read from them must equal what a UTF-8 decoded line gives,
 * and what is kept (thread names, continuation text) must be decoded UTF-8.
 */
import { describe, expect, it } from 'vitest';
import { durationAt, spanTimingInto } from '../../src/decode/fields.js';
import { RecordAssembler, type RecordSink } from '../../src/parse/record-assembler.js';
import { keepText, type LogRecord } from '../../src/parse/record.js';

const latin1 = (utf8: string): string => Buffer.from(utf8, 'utf8').toString('latin1');

/** Feeds lines (each raw or not) to an assembler; returns copies of the records it hands out. */
function assemble(lines: Array<[string, boolean]>): LogRecord[] {
  const out: LogRecord[] = [];
  const sink: RecordSink = {
    record: (r) => out.push({ ...r }),
    malformed: () => {},
    oversize: () => {},
  };
  const a = new RecordAssembler(sink, new Date('2024-03-05T00:00:00Z'), 'f.log');
  lines.forEach(([text, raw], i) => a.line(raw ? latin1(text) : text, i * 100, i + 1, raw));
  a.flush();
  return out;
}

const FULL =
  '2024-03-05T17:02:11.408233Z TRACE wörker-1 ThreadId(07) Swarm::poll: libp2p_swarm: close time.busy=41.2µs time.idle=3.10µs';

describe('raw records', () => {
  it('parse to the same record as the decoded line, with the thread name decoded', () => {
    const [raw] = assemble([[FULL, true]]);
    const [decoded] = assemble([[FULL, false]]);
    expect(raw.raw).toBe(true);
    expect(decoded.raw).toBe(false);
    expect(raw.thread).toBe('wörker-1');
    // spansId: whether the parser's context cache numbered the context (the second line hits it).
    expect({ ...raw, raw: false, message: keepText(raw.message, true), spansId: decoded.spansId }).toEqual(decoded);
  });

  it('read µs and μs durations as the decoded text does', () => {
    for (const sign of ['µ', 'μ']) {
      const text = `close time.busy=41.2${sign}s time.idle=3.10${sign}s`;
      for (const form of [text, latin1(text)]) {
        const ev: { busyNs?: number; idleNs?: number } = {};
        spanTimingInto(form, ev);
        expect(ev).toEqual({ busyNs: 41_200, idleNs: 3_100 });
      }
      expect(durationAt(latin1(`1.5${sign}s`), 0)).toBe(1_500);
    }
    expect(durationAt(latin1('1.5µ'), 0)).toBeNaN(); // the sign without its unit letter
    expect(durationAt(latin1('1.5\u00c2s'), 0)).toBeNaN(); // a lone first byte
  });

  it('fold continuation lines of the other form into the record in its form', () => {
    const head = '[2022-04-21T22:35:27.437652Z ERROR relay] panicked: ünïcode';
    for (const [headRaw, contRaw] of [
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const [rec] = assemble([
        [head, headRaw],
        ['   at wörker.rs:12', contRaw],
      ]);
      expect(rec.lines).toBe(2);
      expect(keepText(rec.message, rec.raw)).toBe('panicked: ünïcode\n   at wörker.rs:12');
    }
  });
});
