/**
 * `pollscope run` following real files written by appending writers in separate processes:
 * rotation by rename, copytruncate, truncation, delete + recreate, kill -9 and restart. Every line
 * carries a sequence number; the daemon's audit file (committed together with its checkpoint)
 * says which lines went through the pipeline, so the tests assert exactly-once, not counts.
 */
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  auditCounts,
  exactlyOnceProblems,
  kill9,
  requireBuild,
  runDaemon,
  runWriter,
  stopDaemon,
  tempDirPerTest,
  waitUntil,
  type DaemonProc,
  type WriterOptions,
} from './support.js';

beforeAll(requireBuild);

/**
 * Deadline of every wait here (daemon start, stderr lines, lines processed): generous, so a loaded
 * machine only makes the tests slower. Each test's own timeout is the sum of its waits' deadlines
 * (`budget(n)` for n waits, plus slack), so a wait that runs out fails with its own message first.
 */
const WAIT = 20_000;
const budget = (waits: number): number => waits * WAIT + 10_000;

const testDir = tempDirPerTest();

/** A test's directory, its audit file, the options every daemon here gets, and `relay.log` in it (relay `relay`). */
function setup(): { dir: string; audit: string; common: string[]; log: string } {
  const dir = testDir();
  const audit = path.join(dir, 'audit.txt');
  return {
    dir,
    audit,
    common: ['--checkpoint', path.join(dir, 'cp.json'), '--audit-records', audit, '--checkpoint-interval', '100ms'],
    log: path.join(dir, 'relay.log'),
  };
}

/** Whether the daemon's checkpoint has each of `files` (as it is now) read to its end. */
function caughtUp(dir: string, files: string[]): boolean {
  let saved: { files: Array<{ dev: number; ino: number; offset: number }> };
  try {
    saved = JSON.parse(readFileSync(path.join(dir, 'cp.json'), 'utf8'));
  } catch {
    return false; // not written yet (or being replaced)
  }
  return files.every((f) => {
    const st = statSync(f);
    return saved.files.some((p) => p.dev === st.dev && p.ino === st.ino && p.offset === st.size);
  });
}

const total = (audit: string, relay: string): number => {
  let n = 0;
  for (const c of auditCounts(audit).get(relay)?.values() ?? []) n += c;
  return n;
};

const line = (seq: number): string =>
  `[${new Date().toISOString().slice(0, 23)}000Z INFO  relay_v2] seq=${seq} payload\n`;

/**
 * Waits (`what`) until the audit holds `count` lines of relay `relay`, stops the daemon (SIGTERM:
 * exit 0) and checks that seq=start … start+count-1 each went through exactly once, none other.
 */
async function stopWhenProcessedOnce(
  d: DaemonProc,
  audit: string,
  count: number,
  o: { what?: string; start?: number } = {},
): Promise<void> {
  await waitUntil(() => total(audit, 'relay') >= count, WAIT, o.what ?? 'all lines processed');
  expect(await stopDaemon(d)).toBe(0);
  expect(exactlyOnceProblems(auditCounts(audit).get('relay'), count, o.start)).toEqual([]);
}

/**
 * A daemon following relay.log (`args`: options beyond the common ones) while one writer appends
 * `w.count` lines to it, rotating as `w` says; stopped once every line is in the audit, and checked
 * for each line exactly once. Returns the stopped daemon (its stderr lines) and the log's path.
 */
async function followOneWriter(
  args: string[],
  w: Omit<WriterOptions, 'path'>,
): Promise<{ d: DaemonProc; log: string }> {
  const { dir, audit, common, log } = setup();
  const d = await runDaemon([...common, '--log', log, ...args], dir);
  await runWriter({ ...w, path: log }).done;
  await stopWhenProcessedOnce(d, audit, w.count);
  return { d, log };
}

describe('pollscope run: following files', () => {
  it(
    'two writers, one rotating by rename every 300 lines, files created after the start: each line once',
    async () => {
      const { dir, audit, common } = setup();
      const a = path.join(dir, 'relay-a.log');
      const b = path.join(dir, 'relay-b.log');
      const d = await runDaemon([...common, '--log', a, '--log', `${b}=bee`], dir);
      await d.waitForLine(/relay-a\.log: does not exist \(yet\); waiting for it/, WAIT);
      const wa = runWriter({ path: a, count: 2000, rate: 5000, rotateEvery: 300, rotate: 'rename' });
      const wb = runWriter({ path: b, count: 1500, rate: 4000 });
      const [ra, rb] = await Promise.all([wa.done, wb.done]);
      expect(ra.rotations).toBe(6);
      expect(rb.written).toBe(1500);
      await waitUntil(
        () => total(audit, 'relay-a') >= 2000 && total(audit, 'bee') >= 1500,
        WAIT,
        'all lines processed',
      );
      const stopAt = Date.now();
      expect(await stopDaemon(d)).toBe(0); // SIGTERM: exit 0 …
      expect(Date.now() - stopAt).toBeLessThan(5000); // … within 5 s
      const counts = auditCounts(audit);
      expect(exactlyOnceProblems(counts.get('relay-a'), 2000)).toEqual([]);
      expect(exactlyOnceProblems(counts.get('bee'), 1500)).toEqual([]);
      expect(d.lines.filter((l) => /does not exist/.test(l.text) && l.text.includes('relay-a.log')).length).toBe(1);
    },
    budget(5),
  );

  it(
    'copytruncate: restarts from 0 and counts it; no line lost or doubled when the copy came after our last read',
    async () => {
      const { d, log: f } = await followOneWriter([], {
        count: 900,
        rate: 3000,
        rotateEvery: 300,
        rotate: 'copytruncate',
        pauseBeforeRotateMs: 350,
      });
      // Seen as truncated (size < offset), or as rewritten when the file had regrown past our offset before we looked.
      expect(d.lines.filter((l) => /relay\.log: (truncated|rewritten)/.test(l.text)).length).toBe(2);
      expect(existsSync(`${f}.2`)).toBe(true);
    },
    budget(4),
  );

  it(
    'truncation noticed only after the file regrew past our offset (stat polling only): found by the first bytes',
    async () => {
      // 150 lines, a pause longer than the poll (all read), truncate, 150 longer lines at once, pause.
      const { d } = await followOneWriter(['--no-watch', '--poll-interval', '400ms'], {
        count: 450,
        rate: 100000,
        batch: 150,
        rotateEvery: 150,
        rotate: 'truncate',
        pauseBeforeRotateMs: 900,
      });
      expect(d.lines.some((l) => /relay\.log: (rewritten|truncated)/.test(l.text))).toBe(true);
    },
    budget(4),
  );

  it(
    'several rename rotations between two looks (slow polls, no change hints): the generations never seen at the path are read too',
    async () => {
      const { dir, audit, common, log: f } = setup();
      const d = await runDaemon([...common, '--log', f, '--no-watch', '--poll-interval', '1s'], dir);
      await d.waitForLine(/relay\.log: does not exist \(yet\); waiting for it/, WAIT);
      // 50 lines per generation at 2,000 lines/s: a rotation every 25 ms, ~40 per look.
      const r = await runWriter({ path: f, count: 1500, rate: 2000, rotateEvery: 50, rotate: 'rename' }).done;
      expect(r.rotations).toBe(29);
      await stopWhenProcessedOnce(d, audit, 1500);
      expect(d.lines.some((l) => /rotated more than once between two looks/.test(l.text))).toBe(true);
    },
    budget(5),
  );

  it(
    'copytruncate while the daemon is stopped: the copy is the content it had read, not a new file',
    async () => {
      const { dir, audit, common, log: f } = setup();
      const args = [...common, '--log', f];
      let d = await runDaemon(args, dir);
      await d.waitForLine(/relay\.log: does not exist \(yet\); waiting for it/, WAIT);
      await runWriter({ path: f, count: 400, rate: 4000 }).done;
      await waitUntil(() => total(audit, 'relay') >= 400, WAIT, 'first lines processed');
      expect(await stopDaemon(d)).toBe(0);
      // logrotate's copytruncate while we are down, then the relay writes on into the truncated file.
      copyFileSync(f, `${f}.1`);
      truncateSync(f, 0);
      await runWriter({ path: f, count: 300, rate: 4000, start: 400 }).done;
      d = await runDaemon(args, dir);
      await waitUntil(() => total(audit, 'relay') >= 700, WAIT, 'lines after the copy processed');
      // Read to the end of both the copy and the file (a copy read again from 0 would show now).
      await waitUntil(() => caughtUp(dir, [f, `${f}.1`]), WAIT, 'the checkpoint at the end of both files');
      expect(await stopDaemon(d)).toBe(0);
      expect(exactlyOnceProblems(auditCounts(audit).get('relay'), 700)).toEqual([]);
    },
    budget(10),
  );

  it(
    'a file deleted and created again (the inode may be reused): each line once',
    async () => {
      await followOneWriter([], {
        count: 600,
        rate: 4000,
        rotateEvery: 200,
        rotate: 'recreate',
        pauseBeforeRotateMs: 300,
      });
    },
    budget(4),
  );

  it(
    'kill -9 twice while a writer appends and rotates: after restarts every line was processed exactly once',
    async () => {
      const { dir, audit, common, log: f } = setup();
      const args = [...common, '--log', f, '--from', 'start'];
      let d = await runDaemon(args, dir);
      const w = runWriter({ path: f, count: 5000, rate: 2500, rotateEvery: 700, rotate: 'rename' });
      let writing = true;
      void w.done.then(() => (writing = false));
      const rotated = () => readdirSync(dir).filter((n) => n.startsWith('relay.log.')).length;
      await waitUntil(() => total(audit, 'relay') >= 300, WAIT, 'first lines processed');
      await kill9(d);
      // Down until the writer rotated: the checkpointed file is found under its new name.
      const before = rotated();
      await waitUntil(() => rotated() > before || !writing, WAIT, 'a rotation while the daemon is down');
      d = await runDaemon(args, dir);
      const resumed = total(audit, 'relay');
      await waitUntil(() => total(audit, 'relay') >= Math.min(5000, resumed + 300), WAIT, 'lines after the restart');
      await kill9(d);
      d = await runDaemon(args, dir);
      const r = await w.done;
      expect(r.rotations).toBe(7);
      await stopWhenProcessedOnce(d, audit, 5000);
    },
    budget(11),
  );

  it(
    '--from end skips what a file held at the first start; a checkpoint wins over it at the next start',
    async () => {
      const { dir, audit, common, log: f } = setup();
      writeFileSync(f, [0, 1, 2].map(line).join(''));
      let d = await runDaemon([...common, '--log', f], dir);
      appendFileSync(f, line(3) + line(4));
      await waitUntil(() => total(audit, 'relay') >= 2, WAIT, 'new lines');
      expect(await stopDaemon(d)).toBe(0);
      appendFileSync(f, line(5) + line(6)); // while stopped
      d = await runDaemon([...common, '--log', f, '--from', 'end'], dir);
      await stopWhenProcessedOnce(d, audit, 4, { what: 'lines appended while stopped', start: 3 });
    },
    budget(6),
  );

  it(
    'partial last line held until its newline; oversize, NUL and invalid UTF-8 lines do not stop anything',
    async () => {
      const { dir, audit, common, log: f } = setup();
      writeFileSync(f, '');
      const d = await runDaemon([...common, '--log', f, '--max-line-bytes', '300'], dir);
      const partial = line(1);
      appendFileSync(f, line(0) + partial.slice(0, 40));
      // seq=0 and the first 40 bytes of seq=1 came in one append, so were read together.
      await waitUntil(() => total(audit, 'relay') >= 1, WAIT, 'first line');
      expect(total(audit, 'relay')).toBe(1); // seq=1 has no newline yet
      appendFileSync(f, partial.slice(40));
      appendFileSync(f, 'x'.repeat(5000) + '\n');
      appendFileSync(
        f,
        Buffer.concat([
          Buffer.from('[2026-01-01T00:00:00.000000Z INFO  relay_v2] bad \u0000 '),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from('\n'),
        ]),
      );
      appendFileSync(f, 'y'.repeat(400)); // oversize and still without newline: skipped, not buffered
      appendFileSync(f, 'y'.repeat(400) + '\n' + line(2));
      await stopWhenProcessedOnce(d, audit, 3, { what: 'lines after the bad ones' });
      expect(readFileSync(audit, 'utf8')).toContain('relay\tbad \u0000 \ufffd\ufffd\ufffd');
      expect(readFileSync(audit, 'utf8')).toContain('relay\tseq=1 payload\n'); // held whole, not cut at the 40th byte
    },
    budget(4),
  );

  it(
    '--flush-partial-after hands a line still missing its newline over after the quiet time',
    async () => {
      const { dir, audit, common, log: f } = setup();
      writeFileSync(f, '');
      const d = await runDaemon([...common, '--log', f, '--flush-partial-after', '300ms'], dir);
      appendFileSync(f, line(0).trimEnd());
      await stopWhenProcessedOnce(d, audit, 1, { what: 'the partial line' });
    },
    budget(3),
  );

  it(
    'a glob picks up files that appear later; SIGHUP reloads the config file list keeping positions',
    async () => {
      const { dir, audit, common } = setup();
      const cfg = path.join(dir, 'pollscope.yaml');
      writeFileSync(cfg, `logs:\n  - ${path.join(dir, 'a-*.log')}\n`);
      const d = await runDaemon([...common, '--config', cfg], dir);
      writeFileSync(path.join(dir, 'a-1.log'), line(0) + line(1));
      await waitUntil(() => total(audit, 'a-1') >= 2, WAIT, 'a-1.log from a glob');
      writeFileSync(
        cfg,
        `logs:\n  - ${path.join(dir, 'a-*.log')}\n  - path: ${path.join(dir, 'other.log')}\n    relay: other\n`,
      );
      writeFileSync(path.join(dir, 'other.log'), line(0));
      d.child.kill('SIGHUP');
      await d.waitForLine(/configuration reloaded/, WAIT);
      appendFileSync(path.join(dir, 'a-1.log'), line(2));
      await waitUntil(() => total(audit, 'other') >= 1 && total(audit, 'a-1') >= 3, WAIT, 'other.log after SIGHUP');
      expect(await stopDaemon(d)).toBe(0);
      const counts = auditCounts(audit);
      expect(exactlyOnceProblems(counts.get('a-1'), 3)).toEqual([]);
      expect(exactlyOnceProblems(counts.get('other'), 1)).toEqual([]);
    },
    budget(5),
  );

  it(
    'permission denied: a clear error, retried, the other files keep going',
    async () => {
      const { dir, audit, common } = setup();
      const locked = path.join(dir, 'locked.log');
      const open = path.join(dir, 'open.log');
      writeFileSync(locked, line(0));
      chmodSync(locked, 0o000);
      writeFileSync(open, '');
      chmodSync(open, 0o644);
      // root reads anything: run the daemon as nobody then (its state files in a directory it may write).
      const asRoot = process.getuid?.() === 0;
      if (asRoot) chmodSync(dir, 0o777);
      const d = await runDaemon(
        [...common, '--log', locked, '--log', open, '--from', 'start'],
        dir,
        'ignore',
        asRoot ? 65534 : undefined,
      );
      await d.waitForLine(/locked\.log: permission denied; retrying/, WAIT);
      appendFileSync(open, line(0));
      await waitUntil(() => total(audit, 'open') >= 1, WAIT, 'the readable file');
      chmodSync(locked, 0o644);
      await waitUntil(() => total(audit, 'locked') >= 1, WAIT, 'the file once readable');
      expect(await stopDaemon(d)).toBe(0);
    },
    budget(5),
  );

  it(
    '--stdin: lines piped in go through; end of input stops the daemon with exit 0',
    async () => {
      const { dir, audit, common } = setup();
      const d = await runDaemon([...common, '--stdin', '--relay', 'piped'], dir, 'pipe');
      for (let i = 0; i < 200; i++) d.child.stdin!.write(line(i));
      d.child.stdin!.end();
      expect((await d.exited).code).toBe(0);
      expect(exactlyOnceProblems(auditCounts(audit).get('piped'), 200)).toEqual([]);
    },
    budget(2),
  );
});
