import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Real log excerpts copied into the repository (provenance: test/fixtures/README.md). */
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
/** The built CLI (`npm run build`): tests run pollscope as a user does. */
export const CLI = path.join(ROOT, 'dist', 'cli.js');

/**
 * The path of a fixture under test/fixtures (e.g. `real/lapin-392.log`). A name that would leave that
 * folder is refused: tests read nothing outside the repository (test/self-contained.test.ts).
 */
export function fixture(rel: string): string {
  const full = path.resolve(FIXTURES, rel);
  if (full !== FIXTURES && !full.startsWith(FIXTURES + path.sep)) {
    throw new Error(`fixture ${JSON.stringify(rel)} is outside ${FIXTURES}`);
  }
  return full;
}

/** A real fixture's log lines, without the `# source:` comment line. */
export function fixtureLines(rel: string): string[] {
  return readFileSync(fixture(rel), 'utf8')
    .split('\n')
    .filter((l, i, a) => !l.startsWith('# source:') && !(l === '' && i === a.length - 1));
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers a test starts). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * How long a test waits for something that will happen (a daemon's port, a line it reads, a scrape):
 * generous, so that a loaded machine only makes a test slower, never makes it fail. A test that
 * waits for several things gives itself a timeout of at least the sum of their deadlines.
 */
export const WAIT_MS = 60_000;

/**
 * Waits until `check` returns a value other than undefined, null or false, and returns it; looks
 * again every `intervalMs` (the thing awaited is in another process: a file, an HTTP endpoint).
 * Fails after `timeoutMs` with `what` and `detail()` (e.g. the daemon's stderr) in the message.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number; detail?: () => string } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) {
      const detail = opts.detail?.();
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${detail ? `\n${detail}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** Whether a child process has exited (or was killed). */
export const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/**
 * The child's exit code (null if a signal ended it), once it has exited; fails after `timeoutMs`
 * without killing it (the caller's cleanup does).
 */
export function exitOf(child: ChildProcess, timeoutMs = WAIT_MS): Promise<number | null> {
  if (hasExited(child)) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Stops a child this test started: SIGTERM, then SIGKILL if it has not exited after `graceMs`.
 * Resolves once it has exited.
 */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!hasExited(child)) child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Waits until the text a child has written so far (`text()`, filled by the caller's 'data'
 * handlers) satisfies `done`: checked on each chunk the child writes, so no polling. Fails as
 * soon as the child has exited and closed its output without it, and after `timeoutMs` otherwise; both with the text so far.
 */
export function waitForOutput(
  child: ChildProcess,
  text: () => string,
  done: (text: string) => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const streams = [child.stdout, child.stderr].filter((s) => s !== null);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      for (const s of streams) s.off('data', onData);
      child.off('close', onClose);
      if (err) reject(err);
      else resolve(text());
    };
    // After the caller's own 'data' handler (registered earlier) has appended the chunk.
    const onData = (): void => {
      if (done(text())) finish();
    };
    // 'close', not 'exit': the last chunks may still be in the pipes when the process exits.
    const onClose = (code: number | null, signal: string | null): void => {
      if (done(text())) finish();
      else finish(new Error(`exited (${code ?? signal}) before ${what}:\n${text().slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      finish(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}:\n${text().slice(-2000)}`));
    }, timeoutMs);
    for (const s of streams) s.on('data', onData);
    child.on('close', onClose);
    if (done(text())) finish();
    else if (hasExited(child) && streams.every((s) => s.readableEnded || s.destroyed)) {
      onClose(child.exitCode, child.signalCode);
    }
  });
}

/** Where a test file keeps the processes it started, for its afterAll/afterEach to stop. */
export type Children = Set<ChildProcess> | ChildProcess[];

/** Kills (SIGKILL, by pid) every one of `children` still running, and forgets them: afterEach's last resort. */
export function killLeft(children: Children): void {
  for (const c of children) {
    if (hasExited(c) || c.pid === undefined) continue;
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      /* exited meanwhile */
    }
  }
  if (Array.isArray(children)) children.length = 0;
  else children.clear();
}

/** A child process a test started, and what it has written so far. */
export interface StartedChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** stdout and stderr together, chunk by chunk as they arrived (for messages and for scripts that log on both). */
  output: () => string;
}

/**
 * Spawns `cmd args` (stdin closed, stdout and stderr captured) and adds it to `children`, which the
 * caller's afterAll/afterEach stops by pid (stopChild or killLeft): no test leaves a process behind.
 */
export function startChild(cmd: string, args: string[], children: Children, opts: { cwd?: string } = {}): StartedChild {
  const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (Array.isArray(children)) children.push(child);
  else children.add(child);
  let out = '';
  let err = '';
  let both = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    both += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    both += d.toString();
  });
  return { child, stdout: () => out, stderr: () => err, output: () => both };
}

/**
 * `node dist/cli.js run --log LOG --relay RELAY --from start --checkpoint CHECKPOINT ARGS`: the daemon
 * on one log read from its start, with its own checkpoint (never the user's state directory).
 */
export function startPollscopeRun(
  o: { log: string; relay: string; checkpoint: string; args?: string[]; cwd?: string },
  children: Children,
): StartedChild {
  const args = ['run', '--log', o.log, '--relay', o.relay, '--from', 'start', '--checkpoint', o.checkpoint];
  return startChild(process.execPath, [CLI, ...args, ...(o.args ?? [])], children, { cwd: o.cwd });
}

/**
 * The URL of the metrics endpoint a `pollscope run` started with `--metrics-listen 127.0.0.1:0` says
 * it serves on (`metrics on http(s)://127.0.0.1:PORT/metrics`), without the `/metrics`.
 */
export async function metricsBaseUrl(daemon: StartedChild, timeoutMs = WAIT_MS): Promise<string> {
  const listening = /metrics on (https?:\/\/127\.0\.0\.1:\d+)\/metrics/;
  const text = await waitForOutput(
    daemon.child,
    daemon.stderr,
    (t) => listening.test(t),
    "the daemon's metrics endpoint",
    timeoutMs,
  );
  return listening.exec(text)![1];
}

/**
 * waitFor for an answer from a server in another process: an error thrown by `check` (not listening
 * yet, a query it cannot answer yet) counts as not yet, and the last one is in the timeout message.
 */
export function waitForAnswer<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; detail?: () => string } = {},
): Promise<T> {
  let lastError = '';
  return waitFor(
    what,
    async () => {
      try {
        return await check();
      } catch (err) {
        lastError = (err as Error).message;
        return undefined; // not up yet
      }
    },
    {
      timeoutMs: opts.timeoutMs,
      intervalMs: 200,
      detail: () => [lastError && `last error: ${lastError}`, opts.detail?.() ?? ''].filter(Boolean).join('\n'),
    },
  );
}

/** One series of an instant query's answer. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query against a Prometheus at `base`; fails with Prometheus' error unless it succeeded. */
export async function promQuery(base: string, q: string): Promise<PromSample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: PromSample[] } };
  if (body.status !== 'success') throw new Error(`query ${q}: ${body.error ?? JSON.stringify(body)}`);
  return body.data.result;
}

/** A Prometheus a test started (see startPrometheus). */
export interface StartedPrometheus extends StartedChild {
  /** http://127.0.0.1:PORT, its API and web UI. */
  url: string;
  query: (q: string) => Promise<PromSample[]>;
  /** SIGTERM, then SIGKILL (stopChild); afterAll's stop of `children` does it too. */
  stop: () => Promise<void>;
}

/**
 * Starts Debian's `prometheus` on a free loopback port with its config and storage in `dir`, and
 * resolves once it answers /-/ready (fails at once, with its log, if it exits first). The config is
 * either `targets` (one job `pollscope` scraping them every second) or `config`: YAML text, or a
 * document written as YAML, or a function of Prometheus' own `127.0.0.1:PORT` (for a config in which
 * it scrapes itself). What it must have scraped before a test starts, the caller waits for.
 */
export async function startPrometheus(
  o: {
    dir: string;
    children: Children;
    /** Exemplar storage (--enable-feature=exemplar-storage), for tests that read exemplars back. */
    exemplars?: boolean;
  } & ({ targets: string[] } | { config: string | object | ((self: string) => string | object) }),
): Promise<StartedPrometheus> {
  const port = await freePort();
  const self = `127.0.0.1:${port}`;
  const url = `http://${self}`;
  const config =
    'targets' in o
      ? [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          'scrape_configs:',
          '  - job_name: pollscope',
          '    static_configs:',
          `      - targets: [${o.targets.map((t) => `'${t}'`).join(', ')}]`,
          '',
        ].join('\n')
      : typeof o.config === 'function'
        ? o.config(self)
        : o.config;
  const configFile = path.join(o.dir, 'prometheus.yml');
  writeFileSync(configFile, typeof config === 'string' ? config : stringifyYaml(config));
  const started = startChild(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(o.dir, 'data')}`,
      `--web.listen-address=${self}`,
      ...(o.exemplars ? ['--enable-feature=exemplar-storage'] : []),
      '--log.level=warn',
    ],
    o.children,
    { cwd: o.dir },
  );
  await waitFor(
    'Prometheus to be ready',
    async () => {
      if (hasExited(started.child)) {
        throw new Error(
          `prometheus exited (${started.child.exitCode ?? started.child.signalCode}):\n${started.output().slice(-2000)}`,
        );
      }
      try {
        return (await fetch(`${url}/-/ready`)).ok;
      } catch {
        return false; // not listening yet
      }
    },
    { intervalMs: 200, detail: () => started.output().slice(-2000) },
  );
  return {
    ...started,
    url,
    query: (q) => promQuery(url, q),
    stop: () => stopChild(started.child),
  };
}
