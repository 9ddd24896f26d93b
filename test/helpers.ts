import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Real log excerpts copied into the repository (provenance: test/fixtures/README.md). */
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

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
