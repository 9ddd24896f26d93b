/**
 * The endpoint as `pollscope run` serves it: /readyz waits for every source, --metrics-listen
 * given explicitly must be honoured (a busy port is fatal), `off` serves nothing.
 * Needs `npm run build` first (npm test does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, WAIT_MS, exitOf, stopChild, waitFor, waitForOutput } from '../helpers.js';
import { handLog, scrape } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-run-endpoint-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) await stopChild(c);
  rmSync(tmp, { recursive: true, force: true });
}, 2 * WAIT_MS);

function runDaemon(args: string[]): { child: ChildProcess; stderr: () => string; exit: () => Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'dist/cli.js'), 'run', '--checkpoint', path.join(tmp, `cp-${children.length}.json`), ...args],
    { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, stderr: () => err, exit: () => exitOf(child) };
}

/** Waits for the daemon's stderr to say `needle` (event-driven: checked on each chunk it writes). */
const untilStderr = (d: { child: ChildProcess; stderr: () => string }, needle: string, what: string) =>
  waitForOutput(d.child, d.stderr, (t) => t.includes(needle), what);

describe('pollscope run --metrics-listen', () => {
  it(
    'the default address taken only warns: the daemon runs on without the endpoint',
    async () => {
      // Hold 127.0.0.1:9464 (if something else already does, it is just as taken).
      const holder: Server = createServer();
      await new Promise<void>((r) => {
        holder.once('error', () => r());
        holder.listen(9464, '127.0.0.1', () => r());
      });
      try {
        const log = path.join(tmp, 'default.log');
        writeFileSync(log, '');
        const d = runDaemon(['--log', log]);
        await untilStderr(d, 'following', 'the daemon to start');
        expect(d.stderr()).toContain('warning: metrics endpoint 127.0.0.1:9464: listen EADDRINUSE');
        expect(d.child.exitCode).toBe(null);
      } finally {
        holder.close();
      }
    },
    2 * WAIT_MS,
  );

  it(
    '/readyz is 503 until every --log path was opened and read to its end, /healthz 200 from the start',
    async () => {
      const log = path.join(tmp, 'late.log');
      const d = runDaemon([
        '--log',
        log,
        '--relay',
        'late',
        '--from',
        'start',
        '--poll-interval',
        '50ms',
        '--metrics-listen',
        '127.0.0.1:0',
      ]);
      const endpoint = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/;
      const url = endpoint.exec(await waitForOutput(d.child, d.stderr, (t) => endpoint.test(t), 'the endpoint'))![1];
      expect((await scrape(`${url}/healthz`)).status).toBe(200);
      expect((await scrape(`${url}/readyz`)).status).toBe(503); // the file does not exist yet
      writeFileSync(log, handLog().join('\n') + '\n');
      await waitFor('/readyz 200', async () => (await scrape(`${url}/readyz`)).status === 200, { detail: d.stderr });
      const body = (await scrape(`${url}/metrics`)).body;
      expect(body).toContain('relay_epoll_wakeups_total{relay="late",reason="io"} 3\n');
      expect(body).toMatch(/\npollscope_bytes_read_total \d+\n/);
    },
    3 * WAIT_MS,
  );

  it(
    'an explicit address that is taken is fatal (status 2); `off` serves nothing',
    async () => {
      const busy: Server = createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
      const port = (busy.address() as { port: number }).port;
      try {
        const log = path.join(tmp, 'x.log');
        writeFileSync(log, '');
        const taken = runDaemon(['--log', log, '--metrics-listen', `127.0.0.1:${port}`]);
        expect(await taken.exit()).toBe(2);
        expect(taken.stderr()).toContain(`metrics endpoint 127.0.0.1:${port}: listen EADDRINUSE`);
        const off = runDaemon(['--log', log, '--metrics-listen', 'off']);
        await untilStderr(off, 'following', 'the daemon to start');
        expect(off.stderr()).not.toContain('metrics on');
        const bad = runDaemon(['--log', log, '--metrics-listen', 'localhost']);
        expect(await bad.exit()).toBe(2);
        expect(bad.stderr()).toContain('--metrics-listen');
      } finally {
        busy.close();
      }
    },
    4 * WAIT_MS, // two exits and one start, each up to WAIT_MS
  );
});
