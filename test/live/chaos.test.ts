/**
 * Randomized rotation chaos against a real `pollscope run` daemon (chaos.mjs): for 20 s a seeded
 * writer appends bursts while it renames, double-renames, deletes + recreates and truncates the
 * file and kill -9s the daemon; every line must be in the daemon's audit file exactly once.
 * `npm run soak` runs more seeds for longer.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error chaos.mjs is plain JavaScript shared with the soak script (no type declarations)
import { AuditReader, runChaos } from './chaos.mjs';
import { CLI, requireBuild, tempDirPerTest } from './support.js';

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

/** The daemons runChaos starts: killed by pid after each test, and the test's directory removed. */
const children = new Set<ChildProcess>();
const testDir = tempDirPerTest(children);

interface AuditReaderLike {
  covers(n: number): boolean;
}

describe('pollscope run under rotation chaos', () => {
  // The driver's precondition race (seed 7 lost seq 10216 on a loaded machine): the daemon appends
  // audit records before it saves the checkpoint (fsync, rename); a kill -9 in between makes the
  // next start cut them off. Records beyond the checkpoint's auditBytes are not "processed" yet.
  it('the driver counts only audit records the checkpoint commits', () => {
    const dir = testDir();
    const audit = path.join(dir, 'audit.txt');
    const checkpoint = path.join(dir, 'cp.json');
    const committed = 'relay\tseq=0 payload\n';
    writeFileSync(audit, committed + 'relay\tseq=1 payload\n');
    const reader = new AuditReader(audit, checkpoint) as AuditReaderLike;
    expect(reader.covers(1)).toBe(false); // no checkpoint yet: nothing committed
    writeFileSync(
      checkpoint,
      JSON.stringify({ version: 1, savedAt: new Date().toISOString(), files: [], auditBytes: committed.length }),
    );
    expect(reader.covers(1)).toBe(true);
    expect(reader.covers(2)).toBe(false); // written, not committed: a kill -9 now would cut it
    writeFileSync(
      checkpoint,
      JSON.stringify({ version: 1, savedAt: new Date().toISOString(), files: [], auditBytes: committed.length * 2 }),
    );
    expect(reader.covers(2)).toBe(true);
  });

  // 20 s of chaos; the waits inside (daemon starts, preconditions 30 s each, the final drain 60 s)
  // only take long when something is wrong or the machine is very loaded.
  it('seed 7: appends, renames, double renames, delete+recreate, truncation, kill -9: every line exactly once', async () => {
    const r = (await runChaos({ seed: 7, durationMs: 20_000, dir: testDir(), cli: CLI, children })) as ChaosResult;
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
  }, 300_000);
});
