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
import { ROOT } from '../helpers.js';
import { handLog, scrape } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-run-endpoint-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      const exited = new Promise((r) => c.once('exit', r));
      process.kill(c.pid, 'SIGTERM');
      await exited;
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function runDaemon(args: string[]): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
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
  return { child, stderr: () => err, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('pollscope run --metrics-listen', () => {
  it('the default address taken only warns: the daemon runs on without the endpoint', async () => {
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
      await until(() => (d.stderr().includes('following') ? true : undefined), 'the daemon to start');
      expect(d.stderr()).toContain('warning: metrics endpoint 127.0.0.1:9464: listen EADDRINUSE');
      expect(d.child.exitCode).toBe(null);
    } finally {
      holder.close();
    }
  });

  it('/readyz is 503 until every --log path was opened and read to its end, /healthz 200 from the start', async () => {
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
    const url = await until(
      () => /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(d.stderr())?.[1],
      'the endpoint',
    );
    expect((await scrape(`${url}/healthz`)).status).toBe(200);
    expect((await scrape(`${url}/readyz`)).status).toBe(503); // the file does not exist yet
    writeFileSync(log, handLog().join('\n') + '\n');
    await until(async () => ((await scrape(`${url}/readyz`)).status === 200 ? true : undefined), '/readyz 200');
    const body = (await scrape(`${url}/metrics`)).body;
    expect(body).toContain('relay_epoll_wakeups_total{relay="late",reason="io"} 3\n');
    expect(body).toMatch(/\npollscope_bytes_read_total \d+\n/);
  });

  it('an explicit address that is taken is fatal (status 2); `off` serves nothing', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const log = path.join(tmp, 'x.log');
      writeFileSync(log, '');
      const taken = runDaemon(['--log', log, '--metrics-listen', `127.0.0.1:${port}`]);
      expect(await taken.exit).toBe(2);
      expect(taken.stderr()).toContain(`metrics endpoint 127.0.0.1:${port}: listen EADDRINUSE`);
      const off = runDaemon(['--log', log, '--metrics-listen', 'off']);
      await until(() => (off.stderr().includes('following') ? true : undefined), 'the daemon to start');
      expect(off.stderr()).not.toContain('metrics on');
      const bad = runDaemon(['--log', log, '--metrics-listen', 'localhost']);
      expect(await bad.exit).toBe(2);
      expect(bad.stderr()).toContain('--metrics-listen');
    } finally {
      busy.close();
    }
  });
});
