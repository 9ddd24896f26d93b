/**
 * `pollscope run` against its own faults, with the real CLI and real file system errors: a
 * checkpoint whose directory is missing or whose content is not a checkpoint (exit 2, one line
 * naming the file), two daemons on one checkpoint (the second refuses), a restart after kill -9
 * (the stale lock is taken over), checkpoint saves failing mid-run with ENOSPC (the temp file is a
 * symlink to /dev/full), EISDIR (the temp file's name is taken by a directory) and EACCES (its
 * directory made read-only, the daemon running as nobody): logged once per
 * episode, counted, /readyz 503 with the reason, retried, lines keep flowing; an audit file the
 * checkpoint did not write is never emptied; the default checkpoint goes to the state directory;
 * an uncaught error from a timer does not take the process down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CheckpointStore, defaultCheckpointPath } from '../../src/source/checkpoint.js';
import { CLI, requireBuild, tempDirPerTest, waitUntil } from './support.js';

beforeAll(requireBuild);

/** Deadline of every wait below (a stderr line, a file, a metric): reached only when something is wrong. */
const WAIT_MS = 60_000;
// A test waits on several such things (vitest's default 30 s would cut a wait short on a loaded machine).
vi.setConfig({ testTimeout: 4 * WAIT_MS });

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** The daemons run() starts: killed by pid after each test, with the test's directory (dir()) removed. */
const procs = new Set<ChildProcess>();
const dir = tempDirPerTest(procs);

/** `node [nodeArgs] dist/cli.js run ARGS` with its own environment; stderr collected. */
function run(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[]; uid?: number }): Proc {
  const withMetrics = args.includes('--metrics-listen') ? args : [...args, '--metrics-listen', 'off'];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, 'run', ...withMetrics], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  procs.add(child);
  let err = '';
  const waiters: Array<() => void> = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    err += d;
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (re: RegExp, timeoutMs = WAIT_MS): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = err.split('\n').find((l) => re.test(l));
        if (m === undefined) return false;
        clearTimeout(timer);
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => reject(new Error(`no stderr line matching ${re}; got:\n${err}`)), timeoutMs);
      if (!check()) waiters.push(() => void check());
    });
  return { child, stderr: () => err, exited, waitFor };
}

async function stop(p: Proc): Promise<number | null> {
  p.child.kill('SIGTERM');
  const code = await p.exited;
  procs.delete(p.child);
  return code;
}

const line = (seq: number): string =>
  `[${new Date().toISOString().slice(0, 23)}000Z INFO  relay_v2] seq=${seq} payload\n`;

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

const metric = (body: string, name: string): number => {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : Number.NaN;
};

/** Scrapes `url`/metrics until `done(body)` (deadline WAIT_MS); returns the last body either way (the caller's expect says what was missing). */
async function metricsUntil(url: string, done: (body: string) => boolean): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const body = (await get(`${url}/metrics`)).body;
    if (done(body) || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('pollscope run: a checkpoint that cannot be used stops the start with one line (exit 2)', () => {
  it.each([
    [
      'its directory does not exist',
      (_d: string) => '/nonexistent/cp.json',
      /^pollscope: checkpoint \/nonexistent\/cp\.json: directory \/nonexistent does not exist \(create it, or give another --checkpoint\)$/,
    ],
    [
      'a path under a file',
      (d: string) => (writeFileSync(path.join(d, 'afile'), ''), path.join(d, 'afile', 'cp.json')),
      /^pollscope: checkpoint \S+\/afile\/cp\.json: \S+\/afile is not a directory$/,
    ],
    [
      'random bytes',
      (d: string) => (
        writeFileSync(
          path.join(d, 'cp.json'),
          Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919 + 13) % 256)),
        ),
        path.join(d, 'cp.json')
      ),
      /^pollscope: checkpoint \S+\/cp\.json is not a pollscope checkpoint \(the file is not JSON\)\. To start over, move it away or delete it/,
    ],
    [
      'JSON of the wrong shape',
      (d: string) => (
        writeFileSync(path.join(d, 'cp.json'), '{"version":1,"savedAt":"2026-01-01T00:00:00Z","files":[{"dev":1}]}'),
        path.join(d, 'cp.json')
      ),
      /^pollscope: checkpoint \S+\/cp\.json is not a pollscope checkpoint \(files\[0\]\.ino is not a non-negative integer\)\. To start over/,
    ],
  ])('%s', async (_what, make, message) => {
    const d = dir();
    writeFileSync(path.join(d, 'r.log'), line(0));
    const t0 = Date.now();
    const p = run(['--log', path.join(d, 'r.log'), '--checkpoint', make(d)], { cwd: d });
    expect(await p.exited).toBe(2);
    expect(Date.now() - t0).toBeLessThan(10_000); // node start on a loaded machine; no timer waited for
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(p.stderr()).not.toMatch(/\n\s+at /); // no stack
  });
});

describe('pollscope run: one daemon per checkpoint', () => {
  it('a second daemon on the same checkpoint refuses naming the first one; after kill -9 of the first, a restart takes the stale lock', async () => {
    const d = dir();
    const log = path.join(d, 'r.log');
    const cp = path.join(d, 'cp.json');
    const audit = path.join(d, 'audit.txt');
    writeFileSync(log, line(0) + line(1));
    const args = [
      '--log',
      log,
      '--from',
      'start',
      '--checkpoint',
      cp,
      '--audit-records',
      audit,
      '--checkpoint-interval',
      '100ms',
    ];
    const first = run(args, { cwd: d });
    await first.waitFor(/run: following/);
    const second = run(['--log', log, '--checkpoint', cp], { cwd: d });
    expect(await second.exited).toBe(2);
    expect(second.stderr().trim()).toBe(
      `pollscope: checkpoint ${cp} is in use (by pid ${first.child.pid} on ${os.hostname()} since ` +
        `${/since (\S+),/.exec(second.stderr())?.[1]}, lock ${cp}.lock); two daemons must not share a checkpoint: ` +
        'stop the other one or give this one its own --checkpoint',
    );
    await waitUntil(
      () => existsSync(audit) && readFileSync(audit, 'utf8').includes('seq=1'),
      WAIT_MS,
      'lines 0-1 audited',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(`${cp}.lock`)).toBe(true); // left behind by kill -9
    appendFileSync(log, line(2));
    const again = run(args, { cwd: d });
    await again.waitFor(/run: following/);
    await waitUntil(() => readFileSync(audit, 'utf8').includes('seq=2'), WAIT_MS, 'line 2 after the restart');
    expect(await stop(again)).toBe(0);
    expect(existsSync(`${cp}.lock`)).toBe(false); // released at stop
    const seqs = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => /seq=(\d+)/.exec(l)?.[1]);
    expect(seqs).toEqual(['0', '1', '2']);
  });
});

describe('checkpoint lock', () => {
  it('stays ours across proper-lockfile refreshes (the owner file written into it does not make it look taken over)', async () => {
    const d = dir();
    const store = new CheckpointStore(path.join(d, 'cp.json'));
    const lost: string[] = [];
    store.open((reason) => lost.push(reason));
    try {
      const first = statSync(store.lockDir).mtimeMs;
      // The refresh (every 15 s) sets a new mtime only when the lock is still ours; otherwise it reports it lost.
      await waitUntil(() => lost.length > 0 || statSync(store.lockDir).mtimeMs !== first, WAIT_MS, 'the lock refresh');
      expect(lost).toEqual([]);
      expect(store.locked).toBe(true);
      expect(JSON.parse(readFileSync(path.join(store.lockDir, 'owner'), 'utf8'))).toMatchObject({ pid: process.pid });
    } finally {
      store.close();
    }
    expect(existsSync(store.lockDir)).toBe(false);
  });
});

describe('pollscope run: checkpoint saves failing mid-run', () => {
  it.each([
    [
      'ENOSPC (temp file is a symlink to /dev/full)',
      (tmp: string) => symlinkSync('/dev/full', tmp),
      (tmp: string) => unlinkSync(tmp),
      'cannot save: no space left on device',
    ],
    [
      'EISDIR (a directory took the temp file name)',
      (tmp: string) => mkdirSync(tmp),
      (tmp: string) => rmdirSync(tmp),
      'cannot save: is a directory',
    ],
    [
      'EACCES (the directory made read-only; the daemon runs as nobody when the tests run as root)',
      (tmp: string) => chmodSync(path.dirname(tmp), 0o555),
      (tmp: string) => chmodSync(path.dirname(tmp), 0o777),
      'cannot save: permission denied',
    ],
  ])(
    '%s: logged once, counted, /readyz 503 with the reason, lines keep flowing, saved again once it clears',
    async (_what, inject, clear, reason) => {
      if (reason.includes('space') && !existsSync('/dev/full')) throw new Error('/dev/full is missing on this machine');
      const d = dir();
      const log = path.join(d, 'r.log');
      const state = path.join(d, 'state');
      mkdirSync(state);
      const cp = path.join(state, 'cp.json');
      writeFileSync(log, line(0));
      // root writes anywhere: the permission case runs the daemon as nobody, in directories it may write.
      const asNobody = reason.includes('permission') && process.getuid?.() === 0;
      if (asNobody) {
        chmodSync(d, 0o755);
        chmodSync(state, 0o777);
      }
      const p = run(
        [
          '--log',
          log,
          '--from',
          'start',
          '--checkpoint',
          cp,
          '--checkpoint-interval',
          '100ms',
          '--metrics-listen',
          '127.0.0.1:0',
        ],
        { cwd: d, uid: asNobody ? 65534 : undefined },
      );
      const url = /metrics on (http:\/\/\S+)\/metrics/.exec(await p.waitFor(/metrics on http/))![1];
      await waitUntil(() => existsSync(cp) && readFileSync(cp, 'utf8').includes('"offset"'), WAIT_MS, 'first save');
      const readyBefore = await get(`${url}/readyz`);
      expect(readyBefore.status).toBe(200);

      inject(`${cp}.tmp`);
      appendFileSync(log, line(1));
      const logged = await p.waitFor(/cannot save/);
      expect(logged).toBe(
        `pollscope: checkpoint ${cp}: ${reason}; positions are kept in memory and saving is retried every 100 ms ` +
          '(lines keep flowing; /readyz fails until a save succeeds)',
      );
      // Retried every interval (counted each time), logged once.
      let m = await metricsUntil(url, (b) => metric(b, 'pollscope_checkpoint_errors_total') >= 3);
      expect(metric(m, 'pollscope_checkpoint_errors_total')).toBeGreaterThanOrEqual(3);
      const ready = await get(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatch(
        new RegExp(
          `^not ready: checkpoint ${cp} not saved since \\S+ \\(\\d+ failed attempts\\): ${reason}; retrying every 100 ms\\n$`,
        ),
      );
      // Lines keep flowing while the checkpoint cannot be saved.
      appendFileSync(log, line(2) + line(3));
      m = await metricsUntil(
        url,
        (b) =>
          metric(b, 'pollscope_lines_total{relay="r",outcome="ignored"}') +
            metric(b, 'pollscope_lines_total{relay="r",outcome="decoded"}') >=
          4,
      );
      expect(metric(m, 'pollscope_lines_total{relay="r",outcome="ignored"}')).toBe(4);
      expect(
        p
          .stderr()
          .split('\n')
          .filter((l) => l.includes('cannot save')),
      ).toHaveLength(1);
      expect(p.child.exitCode).toBeNull();

      clear(`${cp}.tmp`);
      const recovered = await p.waitFor(/saved again/);
      expect(recovered).toMatch(
        new RegExp(`^pollscope: checkpoint ${cp}: saved again after \\d+ failed attempts since \\S+$`),
      );
      expect((await get(`${url}/readyz`)).status).toBe(200);
      const saved = JSON.parse(readFileSync(cp, 'utf8')) as { files: Array<{ offset: number }> };
      expect(saved.files[0].offset).toBe(readFileSync(log).length);
      expect(await stop(p)).toBe(0);
    },
  );
});

describe('pollscope run: --audit-records never empties a file it did not write', () => {
  it('an existing non-empty file and no checkpoint: refused, the file untouched', async () => {
    const d = dir();
    const audit = path.join(d, 'notes.txt');
    writeFileSync(audit, 'precious\n');
    writeFileSync(path.join(d, 'r.log'), line(0));
    const cp = path.join(d, 'cp.json');
    const p = run(['--log', path.join(d, 'r.log'), '--checkpoint', cp, '--audit-records', audit], { cwd: d });
    expect(await p.exited).toBe(2);
    expect(p.stderr().trim()).toBe(
      `pollscope: --audit-records ${audit}: the file exists, is not empty and was not written with checkpoint ${cp}; ` +
        'pollscope only cuts back an audit file it wrote itself: move it away, delete it or give another file',
    );
    expect(readFileSync(audit, 'utf8')).toBe('precious\n');
    expect(existsSync(`${cp}.lock`)).toBe(false);
  });
});

describe('default checkpoint location', () => {
  it('$STATE_DIRECTORY, else $XDG_STATE_HOME/pollscope, else ~/.local/state/pollscope', () => {
    expect(defaultCheckpointPath({ STATE_DIRECTORY: '/var/lib/pollscope:/var/lib/other', XDG_STATE_HOME: '/x' })).toBe(
      '/var/lib/pollscope/pollscope-checkpoint.json',
    );
    expect(defaultCheckpointPath({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/pollscope/pollscope-checkpoint.json');
    expect(defaultCheckpointPath({ XDG_STATE_HOME: 'relative' })).toBe(
      path.join(os.homedir(), '.local/state/pollscope/pollscope-checkpoint.json'),
    );
  });

  it('without --checkpoint the daemon makes its state directory and saves there, not in the current directory', async () => {
    const d = dir();
    const home = path.join(d, 'home');
    mkdirSync(home);
    const log = path.join(d, 'r.log');
    writeFileSync(log, line(0));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.XDG_STATE_HOME;
    delete env.STATE_DIRECTORY;
    const p = run(['--log', log], { cwd: d, env });
    const where = path.join(home, '.local', 'state', 'pollscope', 'pollscope-checkpoint.json');
    await p.waitFor(new RegExp(`checkpoint ${where.replace(/\./g, '\\.')}$`));
    expect(await stop(p)).toBe(0);
    expect(existsSync(where)).toBe(true);
    expect(existsSync(path.join(d, 'pollscope-checkpoint.json'))).toBe(false);
  });
});

describe('pollscope run: the process-level last resort', () => {
  it('an uncaught error and an unhandled rejection from timers: logged once with the stack, counted, /readyz 503, lines keep flowing', async () => {
    const d = dir();
    const log = path.join(d, 'r.log');
    writeFileSync(log, line(0));
    // A dependency's timer that throws, loaded into the real CLI process before it starts. It
    // fires once the test creates `trigger` (after the daemon is up): a fixed 300 ms could come
    // before a slow start had installed its last-resort handlers, and the process would die.
    const preload = path.join(d, 'faulty-timer.mjs');
    const trigger = path.join(d, 'fire');
    writeFileSync(
      preload,
      "import { existsSync } from 'node:fs';\n" +
        `const t = setInterval(() => { if (!existsSync(${JSON.stringify(trigger)})) return; clearInterval(t);\n` +
        "  setTimeout(() => { void Promise.reject(new Error('rejected')); }, 100);\n" +
        "  throw new Error('boom from a timer'); }, 50);\n" +
        't.unref();\n',
    );
    const p = run(
      ['--log', log, '--from', 'start', '--checkpoint', path.join(d, 'cp.json'), '--metrics-listen', '127.0.0.1:0'],
      { cwd: d, nodeArgs: ['--import', preload] },
    );
    const url = /metrics on (http:\/\/\S+)\/metrics/.exec(await p.waitFor(/metrics on http/))![1];
    writeFileSync(trigger, '');
    const logged = await p.waitFor(/uncaught error/);
    expect(logged).toMatch(
      /^pollscope: uncaught error \(counted in pollscope_pipeline_errors_total\{relay=""\}; further ones within a minute are only counted\); still running: Error: boom from a timer$/,
    );
    let m = await metricsUntil(url, (b) => metric(b, 'pollscope_pipeline_errors_total{relay=""}') >= 2);
    expect(metric(m, 'pollscope_pipeline_errors_total{relay=""}')).toBe(2);
    expect(p.stderr().match(/still running/g)).toHaveLength(1);
    const ready = await get(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/uncaught internal error within the last minute/);
    appendFileSync(log, line(1));
    m = await metricsUntil(url, (b) => metric(b, 'pollscope_lines_total{relay="r",outcome="ignored"}') >= 2);
    expect(metric(m, 'pollscope_lines_total{relay="r",outcome="ignored"}')).toBe(2);
    expect(await stop(p)).toBe(0);
  });
});
