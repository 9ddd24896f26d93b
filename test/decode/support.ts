/** Shared by the decoder tests: records built by hand, a collecting sink, fixture lines through the real parser. */
import { readFileSync } from 'node:fs';
import type { Decoder, ReactorEvent } from '../../src/decode/events.js';
import { RecordAssembler } from '../../src/parse/record-assembler.js';
import { copyRecord, newRecord, type LogRecord } from '../../src/parse/record.js';
import { fixture as fixturePath } from '../helpers.js';

export function rec(target: string, message: string, spans = '', thread = ''): LogRecord {
  const r = newRecord();
  r.target = target;
  r.message = message;
  r.spans = spans;
  r.thread = thread;
  return r;
}

/** Runs one decoder on one record: did it recognise the record, and which events did it emit. */
export function run(d: Decoder, r: LogRecord): { ok: boolean; events: ReactorEvent[] } {
  const events: ReactorEvent[] = [];
  const ok = d.decode(r, {
    event: (ev) => {
      events.push(ev);
    },
  });
  return { ok, events };
}

/** A fixture's records (relative to test/fixtures), read by pollscope's own envelope parser. */
export function fixture(name: string): LogRecord[] {
  const out: LogRecord[] = [];
  const assembler = new RecordAssembler(
    {
      record: (r) => {
        const copy = newRecord();
        copyRecord(r, copy);
        out.push(copy);
      },
      malformed: () => undefined,
      oversize: () => undefined,
    },
    new Date(0),
  );
  readFileSync(fixturePath(name), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line !== '' && !line.startsWith('# source:')) assembler.line(line, 0, i + 1);
    });
  assembler.flush();
  return out;
}
