/**
 * Randomized rotation chaos against a real `pollscope run` daemon (chaos.mjs): for 20 s a seeded
 * writer appends bursts while it renames, double-renames, deletes + recreates and truncates the
 * file and kill -9s the daemon; every line must be in the daemon's audit file exactly once.
 * `npm run soak` runs more seeds for longer.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error chaos.mjs is plain JavaScript shared with the soak script (no type declarations)
import { runChaos } from './chaos.mjs';
import { CLI, requireBuild, tempDir } from './support.js';

interface ChaosResult {
  seed: number;
  lines: number;
  lost: number;
  doubled: number;
  unexpected: number;
  drained: boolean;
  exitCode: number | null;
  actions: Record<string, number>;
  firstProblems: string[];
  missed: string[];
}

beforeAll(requireBuild);

const children = new Set<ChildProcess>();
let cleanup: (() => void) | null = null;
afterEach(() => {
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  children.clear();
  cleanup?.();
  cleanup = null;
});

describe('pollscope run under rotation chaos', () => {
  // 20 s of chaos; the waits inside (daemon starts, preconditions 15 s each, the final drain 30 s)
  // only take long when something is wrong or the machine is very loaded.
  it('seed 7: appends, renames, double renames, delete+recreate, truncation, kill -9: every line exactly once', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const r = (await runChaos({ seed: 7, durationMs: 20_000, dir: t.dir, cli: CLI, children })) as ChaosResult;
    const summary = JSON.stringify(r);
    expect(r.lines, summary).toBeGreaterThan(10_000);
    expect(r.actions.doubleRenames + r.actions.recreates + r.actions.kills, summary).toBeGreaterThan(5);
    expect(r.missed, summary).toEqual([]);
    expect(r.firstProblems, summary).toEqual([]);
    expect({ lost: r.lost, doubled: r.doubled, unexpected: r.unexpected, exitCode: r.exitCode }).toEqual({
      lost: 0,
      doubled: 0,
      unexpected: 0,
      exitCode: 0,
    });
  }, 180_000);
});
