/**
 * RecordAssembler.messageAt takes every layout but tracing JSON to cut the message as the rest
 * of the line (the `--jobs 2` worker then ships a position, not the text). This holds the
 * layouts to it on every line of every log in the repository, and on lines mutated around the
 * places where layouts cut.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tracingJson } from '../../src/parse/envelope-json.js';
import { ENVELOPES } from '../../src/parse/envelopes.js';
import { newRecord } from '../../src/parse/record.js';
import { PartialTimeContext } from '../../src/parse/timestamp.js';
import { ROOT } from '../helpers.js';

const DIRS = ['samples', 'test/real-relay/fixtures', 'test/real-relay-tokio/fixtures', 'test/fixtures'];
const lines = DIRS.flatMap((d) =>
  readdirSync(path.join(ROOT, d), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(path.join(ROOT, d, f), 'latin1').split('\n')),
);

/** Variants of a line cut or padded where layouts look: ends, brackets, colons, spaces. */
function variants(line: string): string[] {
  const out = [line, line + ' ', line.slice(0, 40), line.replace(']', ' ]'), line.replace(': ', ':  ')];
  for (const cut of [line.indexOf(']'), line.indexOf(': '), line.lastIndexOf(': ')])
    if (cut >= 0) out.push(line.slice(0, cut + 1), line.slice(0, cut + 2));
  return out;
}

describe('every layout but JSON: the message is the rest of the line', () => {
  it(`holds on ${lines.length} lines of the repository's logs and their variants`, () => {
    expect(lines.length).toBeGreaterThan(10_000);
    const rec = newRecord();
    const ctx = new PartialTimeContext(new Date('2024-01-01T00:00:00Z'));
    let checked = 0;
    for (const line of lines)
      for (const text of variants(line.trimEnd()))
        for (const env of ENVELOPES) {
          if (env === tracingJson || !env.parse(text, rec, ctx)) continue;
          checked++;
          if (!text.endsWith(rec.message)) expect.fail(`${env.id} cut ${JSON.stringify(rec.message)} from ${text}`);
        }
    expect(checked).toBeGreaterThan(lines.length);
  });
});
