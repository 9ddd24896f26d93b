/**
 * Every timestamp scanner stops at the end of the line (issue 10): `charCodeAt` past the end is
 * NaN, which passed `c < 0 || c > 9` as a digit, so a line ending right after digits looped
 * forever or produced NaN times. Each layout, on every cut of a real line: an answer at once,
 * and a time only when it is a whole, valid one.
 */
import { describe, expect, it } from 'vitest';
import { ENVELOPES } from '../../src/parse/envelopes.js';
import { newRecord, type LogRecord } from '../../src/parse/record.js';
import { RecordAssembler, type RecordSink } from '../../src/parse/record-assembler.js';
import { digitsAt, PartialTimeContext, scanIsoTimestamp, scanUptime } from '../../src/parse/timestamp.js';
import { EXAMPLE_LINES } from '../../src/fuzz/corpus.js';

const ctx = () => new PartialTimeContext(new Date('2022-04-21T00:00:00Z'));

function assemble(text: string) {
  const recs: LogRecord[] = [];
  const malformed: string[] = [];
  const sink: RecordSink = {
    record: (r) => recs.push({ ...r }),
    malformed: (line, _o, reason) => malformed.push(`${line}: ${reason}`),
    oversize: () => undefined,
  };
  const a = new RecordAssembler(sink, new Date('2022-04-21T00:00:00Z'));
  text.split('\n').forEach((l, i) => a.line(l, 0, i + 1));
  a.flush();
  return { recs, malformed };
}

describe('scanners at the end of the line', () => {
  it('digitsAt past the end is not a number', () => {
    expect(digitsAt('12', 0, 4)).toBe(-1);
    expect(digitsAt('', 0, 1)).toBe(-1);
  });

  it('a timestamp cut anywhere is refused; a complete one is read', () => {
    const full = '2022-04-21T22:30:16.437652Z';
    for (let n = 0; n < full.length; n++) {
      const rec = newRecord();
      expect(scanIsoTimestamp(full.slice(0, n), 0, rec), full.slice(0, n)).toBe(-1);
    }
    const rec = newRecord();
    expect(scanIsoTimestamp(full, 0, rec)).toBe(full.length);
    expect([rec.nsec, rec.digits]).toEqual([437_652_000, 6]);
  });

  it('uptime: digits to the end of the line, and more than 15 of them, are refused', () => {
    expect(scanUptime('42', 0, newRecord())).toBe(-1);
    expect(scanUptime('0.123', 0, newRecord())).toBe(-1); // no `s`
    expect(scanUptime('9999999999999999.0s', 0, newRecord())).toBe(-1);
    const rec = newRecord();
    expect(scanUptime('   12.5s', 0, rec)).toBe(8);
    expect([rec.sec, rec.nsec, rec.digits]).toEqual([12, 500_000_000, 1]);
  });

  it('the issue lines are malformed, never a loop or an exception', () => {
    const { recs, malformed } = assemble(
      ['5', '42', '[2022-04-21T22:30:16.77', '2024-03-05T17:02:11.408', '19:44:42.662', '[2022-04-21T22:30:2'].join(
        '\n',
      ),
    );
    expect(recs).toEqual([]);
    expect(malformed).toHaveLength(6);
  });

  it('every layout, on every cut of an example line plus one more character, answers with a valid time or none', () => {
    for (const line of EXAMPLE_LINES) {
      for (let n = 0; n <= line.length; n++) {
        for (const tail of ['', '0', '.', ' ']) {
          const text = line.slice(0, n) + tail;
          for (const env of ENVELOPES) {
            const rec = newRecord();
            if (env.parse(text, rec, ctx()) && rec.hasTime) {
              expect(Number.isInteger(rec.sec) && Number.isInteger(rec.nsec), `${env.id}: ${text}`).toBe(true);
              expect(rec.nsec >= 0 && rec.nsec < 1e9).toBe(true);
            }
          }
        }
      }
    }
  });
});
