/**
 * The bounded fuzz run of CI: `npm run fuzz`'s driver for 40 s (POLLSCOPE_FUZZ_SECONDS) on the
 * built CLI's code, a fixed seed (POLLSCOPE_FUZZ_SEED to explore another), findings written to a
 * temporary folder. Any crash, hang or broken invariant fails the test with the finding's
 * message; copy the saved input into test/fuzz/regressions/ to keep it as a regression.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const DRIVER = path.join(ROOT, 'dist/fuzz/run.js');
const SECONDS = Number(process.env.POLLSCOPE_FUZZ_SECONDS ?? 40);
const SEED = Number(process.env.POLLSCOPE_FUZZ_SEED ?? 10);

let child: ChildProcess | null = null;
const out = mkdtempSync(path.join(os.tmpdir(), 'pollscope-fuzz-'));

afterAll(() => {
  if (child !== null && child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  rmSync(out, { recursive: true, force: true });
});

interface Summary {
  execs: number;
  execsPerSec: number;
  findings: Array<{ kind: string; message: string; count: number; files: string[] }>;
  hangs: number;
}

it(
  `fuzzes the whole replay path for ${SECONDS} s (seed ${SEED}) without a finding`,
  async () => {
    expect(existsSync(DRIVER), 'build first: npx tsc -p tsconfig.json').toBe(true);
    // Generous hang and line budgets: the suite runs on loaded machines; a real hang is endless.
    const args = [DRIVER, '--seconds', String(SECONDS), '--seed', String(SEED), '--out', out, '--json', '--quiet'];
    args.push('--hang-ms', '15000', '--line-ms', '3000');
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = p;
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
    const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Summary;
    const found = summary.findings.map((f) => `${f.kind} ×${f.count}: ${f.message} (${f.files.join(', ')})`);
    expect(found, stderr).toEqual([]);
    expect(code).toBe(0);
    expect(summary.hangs).toBe(0);
    // It really ran: even a machine busy with other work manages thousands in that time.
    expect(summary.execs).toBeGreaterThan(1000);
    console.log(`ci fuzz: ${summary.execs} executions, ${summary.execsPerSec} exec/s, seed ${SEED}`);
  },
  (SECONDS + 60) * 1000,
);
