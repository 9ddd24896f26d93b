/**
 * A relay's pipeline with two files open at once, as after a rotation (the old file still drains
 * while the new one is read): each record carries the file its assembler reads, whatever file
 * was opened last, so the positions in observations and the problems name where a line was.
 */
import { describe, expect, it } from 'vitest';
import { RelayPipeline } from '../src/pipeline.js';
import type { UnfinishedObservation, WaitObservation } from '../src/reactor/observations.js';
import { fixtureLines } from './helpers.js';

describe('RelayPipeline: each record names its file', () => {
  it('positions and problems name the file of the line, also with two files open and read in turns', () => {
    const waits: WaitObservation[] = [];
    const unfinished: UnfinishedObservation[] = [];
    const pipeline = new RelayPipeline('relay', [
      { wait: (w) => waits.push(w), unfinished: (u) => unfinished.push(u) },
    ]);
    const excerpt = fixtureLines('seed/relay_v2-excerpt.log').filter((l) => l !== '');
    const old = pipeline.openFile('relay.log.1', new Date(0));
    const current = pipeline.openFile('relay.log', new Date(0)); // opened later: "the current file" before
    let offset = 0;
    const push = (to: typeof old, lineNo: number, text: string): void => {
      to.line(text, offset, lineNo);
      offset += text.length + 1;
    };
    push(old, 1, '# relay-7 log, rotated'); // malformed: no record before it
    push(current, 1, '# relay-7 log, new generation');
    excerpt.forEach((text, i) => push(old, i + 2, text)); // the wake is on line 3 of the old file
    old.flush();
    push(current, 2, '');
    current.flush();
    pipeline.finish();

    expect(pipeline.ingest.problems.map((p) => `${p.file}:${p.line}: ${p.reason}`)).toEqual([
      'relay.log.1:1: matches no known log layout',
      'relay.log:1: matches no known log layout',
      'relay.log:2: empty line',
    ]);
    expect(waits.map((w) => w.pos)).toEqual([{ file: 'relay.log.1', line: 3, offset: expect.any(Number) }]);
    expect(unfinished.map((u) => `${u.pos.file}:${u.pos.line}`)).toEqual(['relay.log.1:3']);
  });

  it('the assembler reports the log time of the first timed record it handed over since it was last asked', () => {
    const pipeline = new RelayPipeline('relay', []);
    const asm = pipeline.openFile('relay.log', new Date(0));
    const excerpt = fixtureLines('seed/relay_v2-excerpt.log').filter((l) => l !== '');
    // `[2022-04-21T22:34:42.294524Z …`: whole seconds, then the µs fraction (Date.parse keeps ms only).
    const sec = (i: number): number =>
      Date.parse(excerpt[i].slice(1, 20) + 'Z') / 1000 + Number(excerpt[i].slice(20, 27));
    expect(Number.isNaN(asm.takeFirstLogSec())).toBe(true);
    excerpt.slice(0, 3).forEach((text, i) => asm.line(text, 0, i + 1));
    // Lines 1 and 2 are handed over; line 3 is held for continuation lines.
    expect(asm.takeFirstLogSec()).toBeCloseTo(sec(0), 6);
    expect(Number.isNaN(asm.takeFirstLogSec())).toBe(true);
    asm.line(excerpt[3], 0, 4);
    expect(asm.takeFirstLogSec()).toBeCloseTo(sec(2), 6);
    asm.flush();
    expect(asm.takeFirstLogSec()).toBeCloseTo(sec(3), 6);
    expect(asm.file).toBe('relay.log');
  });
});
