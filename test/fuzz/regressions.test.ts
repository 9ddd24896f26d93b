/**
 * Every input the fuzzer ever reported (test/fuzz/regressions/*.log, each with a `.txt` saying
 * what it broke) and the issue-10 repros run through the whole replay path again: no exception,
 * no broken invariant (lines in = lines counted, durations finite and ≥ 0, stalls in order and
 * inside the log's time range), no line over its time budget. The repros also run through the
 * built CLI, as a user would.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chunkSizeFor, runTarget } from '../../src/fuzz/target.js';
import { ROOT } from '../helpers.js';

const DIR = path.join(ROOT, 'test/fuzz/regressions');
const CLI = path.join(ROOT, 'dist/cli.js');
const run = promisify(execFile);

describe('saved fuzz findings', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.log'));
  it('the folder holds the inputs', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });
  for (const file of files) {
    it(file, () => {
      const data = readFileSync(path.join(DIR, file));
      // Whole input in one read, and cut into reads as the fuzzer did.
      for (const chunkBytes of [data.length, chunkSizeFor(data), 7]) {
        const r = runTarget(data, { chunkBytes, lineBudgetMs: 2000 });
        const l = r.report.lines;
        expect(l.decoded + l.ignored + l.malformed + l.oversize).toBe(r.linesRead);
      }
    });
  }
});

/** Runs `pollscope replay` on a saved input; a hang fails on the timeout instead of hanging the suite. */
async function replayCli(file: string): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'replay', path.join(DIR, file)], { timeout: 20_000 });
    return { code: 0, stdout, stderr, ms: Date.now() - t0 };
  } catch (err) {
    const e = err as { code?: number; killed?: boolean; stdout?: string; stderr?: string };
    if (e.killed) throw new Error(`pollscope replay ${file} did not end within 20 s`, { cause: err });
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '', ms: Date.now() - t0 };
  }
}

describe.concurrent('issue 10 repros through the CLI', () => {
  it('a line of digits: no recognisable line, exit 1, no hang', async () => {
    const r = await replayCli('issue10-digits-only.log');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no recognisable log lines (1 lines)');
    expect(r.stdout).toContain('malformed 1');
  });

  it('lines ending right after a fraction, a date, a time of day: malformed, exit 1', async () => {
    const r = await replayCli('issue10-cut-fraction.log');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Lines: 4  decoded 0  ignored 0  malformed 4');
  });

  it('a timestamp cut in its seconds: that line malformed, the next one read, exit 0', async () => {
    const r = await replayCli('issue10-cut-seconds.log');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Lines: 2  decoded 0  ignored 1  malformed 1');
    expect(r.stdout).toContain('/issue10-cut-seconds.log:1: matches no known log layout');
  });

  it('a line dated 9999 and one dated 1970 among 2022 lines: outliers, no stall', async () => {
    const r = await replayCli('issue10-year-9999.log');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Stalls: slow_poll 0, blocked_poll 0, starved 0, silent 0');
    expect(r.stdout).toContain('2 line(s) dated far from the lines around them: their time was not used');
  });
});
