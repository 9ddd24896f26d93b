/**
 * SIGHUP on a real `pollscope run`: without --config it says there is nothing to reload; with
 * one, settings that need a restart are named and kept, while the file list and thresholds apply
 * (the newly listed file is followed). Every wait is on a stderr line or the audit file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { freePort } from './helpers.js';
import {
  CLI,
  killAll,
  requireBuild,
  runDaemon,
  stopDaemon,
  tempDir,
  waitUntil,
  type DaemonProc,
} from './live/support.js';

const started: DaemonProc[] = [];

let t: { dir: string; cleanup: () => void } | null = null;
afterEach(() => {
  killAll();
  for (const d of started.splice(0))
    if (d.child.exitCode === null && d.child.signalCode === null && d.child.pid !== undefined)
      process.kill(d.child.pid, 'SIGKILL');
  t?.cleanup();
  t = null;
});

const LINE = (n: number) =>
  `[2022-04-21T22:30:0${n}.000000Z TRACE polling::epoll] new events: epoll_fd=3, res=1, seq=${n}\n`;

/** Deadline of every wait below (a stderr line, the audit file): reached only when something is wrong. */
const WAIT_MS = 60_000;
/** A live stall's start/end line: the watchdog's, on its own clock (with `silent: 2s`, one may come at any time). */
const STALL_LINE = /^pollscope: \[[^\]]*\] stall (started|ended)/;

/** The stderr lines that follow the SIGHUP, up to and including the one matching `last` (stall lines aside). */
async function hangUp(d: DaemonProc, last: RegExp): Promise<string[]> {
  const from = d.lines.length;
  d.child.kill('SIGHUP');
  const seen = await d.waitForLine(last, WAIT_MS);
  return d.lines
    .slice(from, d.lines.indexOf(seen) + 1)
    .map((l) => l.text)
    .filter((l) => !STALL_LINE.test(l));
}

describe('SIGHUP', () => {
  it(
    'without --config: says there is nothing to reload, and goes on',
    async () => {
      requireBuild();
      t = tempDir();
      const log = path.join(t.dir, 'a.log');
      writeFileSync(log, '');
      const d = await runDaemon(['--log', log, '--checkpoint', path.join(t.dir, 'cp.json')], t.dir);
      const lines = await hangUp(d, /SIGHUP/);
      expect(lines).toEqual([
        'pollscope: run: SIGHUP: nothing to reload (no --config file; the settings come from the command line)',
      ]);
      expect(d.lines.some((l) => /configuration reloaded/.test(l.text))).toBe(false);
      expect(await stopDaemon(d)).toBe(0);
    },
    4 * WAIT_MS,
  );

  it(
    'with --config: checkpoint and metrics.listen need a restart and are kept; logs and thresholds apply',
    async () => {
      requireBuild();
      t = tempDir();
      const a = path.join(t.dir, 'a.log');
      const b = path.join(t.dir, 'b.log');
      const audit = path.join(t.dir, 'audit.txt');
      writeFileSync(a, LINE(1));
      writeFileSync(b, LINE(2));
      const cfg = path.join(t.dir, 'pollscope.yaml');
      const cp1 = path.join(t.dir, 'cp1.json');
      writeFileSync(cfg, `logs: ['${a}=ra']\nfrom: start\ncheckpoint: ${cp1}\nmetrics: { listen: off }\n`);
      // metrics.listen comes from the file alone (a --metrics-listen flag would override it), on a free port.
      const port = await freePort();
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('listen: off', `listen: "127.0.0.1:${port}"`));
      const d = await startRun(['--config', cfg, '--audit-records', audit, '--checkpoint-interval', '100ms'], t.dir);
      await waitUntil(
        () => readAudit(audit).includes('ra\tnew events: epoll_fd=3, res=1, seq=1'),
        WAIT_MS,
        'a.log read',
      );

      writeFileSync(
        cfg,
        `logs: ['${a}=ra', '${b}=rb']\nfrom: start\ncheckpoint: ${path.join(t.dir, 'cp2.json')}\n` +
          `metrics: { listen: "127.0.0.1:1" }\nthresholds: { silent: 2s }\n`,
      );
      const lines = await hangUp(d, /configuration reloaded/);
      expect(lines).toEqual([
        `pollscope: run: checkpoint changed: needs a restart; keeping ${cp1}`,
        `pollscope: run: metrics.listen changed: needs a restart; keeping 127.0.0.1:${port}`,
        'pollscope: run: configuration reloaded (logs, thresholds.silent changed)',
      ]);
      // Still served where it was.
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // The new file is followed (from its start: it appeared after the daemon started).
      await waitUntil(
        () => readAudit(audit).includes('rb\tnew events: epoll_fd=3, res=1, seq=2'),
        WAIT_MS,
        'b.log read',
      );

      // A broken file: reported, the running configuration kept.
      writeFileSync(cfg, `logs: ['${a}=ra']\nthresholds: { slow_pol: 1s }\n`);
      const broken = await hangUp(d, /reload failed/);
      expect(broken).toEqual([
        `pollscope: run: reload failed, keeping the running configuration: ${cfg}: thresholds: unknown key slow_pol (did you mean slow_poll?)`,
      ]);
      expect(await stopDaemon(d)).toBe(0);
      // The checkpoint stayed where the daemon started with it.
      expect(JSON.parse(readFileSync(cp1, 'utf8'))).toBeTruthy();
    },
    4 * WAIT_MS,
  );
});

function readAudit(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/**
 * `pollscope run ARGS` as is (runDaemon adds `--metrics-listen off`, which would override the
 * file's metrics.listen); resolves once it says it is following.
 */
async function startRun(args: string[], cwd: string): Promise<DaemonProc> {
  const child = spawn(process.execPath, [CLI, 'run', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: DaemonProc['lines'] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: { at: number; text: string }) => void }> = [];
  let buf = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const l = { at: Date.now(), text: buf.slice(0, nl) };
      buf = buf.slice(nl + 1);
      lines.push(l);
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i].re.test(l.text)) waiters.splice(i, 1)[0].resolve(l);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLine = (re: RegExp, timeoutMs = WAIT_MS) => {
    const seen = lines.find((l) => re.test(l.text));
    if (seen) return Promise.resolve(seen);
    return new Promise<{ at: number; text: string }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no stderr line matching ${re}; got:\n${lines.map((l) => l.text).join('\n')}`)),
        timeoutMs,
      );
      waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  };
  const d: DaemonProc = { child, lines, exited, waitForLine };
  started.push(d);
  await waitForLine(/run: following/);
  return d;
}
