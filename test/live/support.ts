/**
 * Real processes for the live tests: the built CLI (`node dist/cli.js run …`) and appending
 * writers (writer.mjs), each in its own process, stopped by pid in afterEach even when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { CLI, ROOT, killLeft } from '../helpers.js';

export { CLI };
const WRITER = path.join(ROOT, 'test', 'live', 'writer.mjs');

export function requireBuild(): void {
  if (!existsSync(path.join(ROOT, 'dist', 'daemon.js')))
    throw new Error('dist/ is not built: run `npm run build` first (the live tests run the real CLI)');
}

const children = new Set<ChildProcess>();

/** Kills (SIGKILL, by pid) whatever a test left running. */
export function killAll(): void {
  killLeft(children);
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pollscope-live-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * For a test file whose tests each work in a fresh temporary directory: registers an afterEach that
 * kills (SIGKILL, by pid) what the test left running — started by runDaemon and runWriter, or put
 * into `children` by the file's own spawns — and removes that directory, even when the test failed.
 * Returns what a test calls for its directory.
 */
export function tempDirPerTest(children: Set<ChildProcess> = new Set()): () => string {
  let cleanup: (() => void) | null = null;
  afterEach(() => {
    killAll();
    killLeft(children);
    cleanup?.();
    cleanup = null;
  });
  return () => {
    const t = tempDir();
    cleanup = t.cleanup;
    return t.dir;
  };
}

export interface DaemonProc {
  child: ChildProcess;
  /** stderr lines with the wall time (ms) they arrived. */
  lines: Array<{ at: number; text: string }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLine(re: RegExp, timeoutMs?: number): Promise<{ at: number; text: string }>;
}

/** Starts `pollscope run ARGS` and resolves once it says it is following. */
export async function runDaemon(
  args: string[],
  cwd: string,
  stdin: 'ignore' | 'pipe' = 'ignore',
  uid?: number,
): Promise<DaemonProc> {
  // Metrics off unless a test asks for them: parallel daemons would all try the default port.
  if (!args.includes('--metrics-listen')) args = [...args, '--metrics-listen', 'off'];
  const child = spawn(process.execPath, [CLI, 'run', ...args], {
    cwd,
    stdio: [stdin, 'ignore', 'pipe'],
    ...(uid !== undefined ? { uid, gid: uid } : {}),
  });
  children.add(child);
  const lines: DaemonProc['lines'] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: { at: number; text: string }) => void }> = [];
  let buf = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = { at: Date.now(), text: buf.slice(0, nl) };
      buf = buf.slice(nl + 1);
      lines.push(l);
      for (let i = 0; i < waiters.length; i++)
        if (waiters[i].re.test(l.text)) {
          waiters[i].resolve(l);
          waiters.splice(i--, 1);
        }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // Generous: reached only when something is wrong (a loaded machine starts node slowly).
  const waitForLine = (re: RegExp, timeoutMs = 60_000) => {
    const seen = lines.find((l) => re.test(l.text));
    if (seen) return Promise.resolve(seen);
    return new Promise<{ at: number; text: string }>((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `no stderr line matching ${re} within ${timeoutMs} ms; got:\n${lines.map((l) => l.text).join('\n')}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  };
  await waitForLine(/run: following/);
  return { child, lines, exited, waitForLine };
}

export async function stopDaemon(d: DaemonProc): Promise<number | null> {
  d.child.kill('SIGTERM');
  const { code } = await d.exited;
  children.delete(d.child);
  return code;
}

export async function kill9(d: DaemonProc): Promise<void> {
  d.child.kill('SIGKILL');
  await d.exited;
  children.delete(d.child);
}

export interface WriterOptions {
  path: string;
  count: number;
  start?: number;
  rate?: number;
  batch?: number;
  rotateEvery?: number;
  rotate?: 'rename' | 'copytruncate' | 'truncate' | 'recreate';
  pauseBeforeRotateMs?: number;
  pad?: string;
}

/** Runs writer.mjs in its own process; resolves with what it wrote when it exits. */
export function runWriter(o: WriterOptions): {
  done: Promise<{ written: number; rotations: number }>;
  child: ChildProcess;
} {
  const child = spawn(process.execPath, [WRITER, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  const done = new Promise<{ written: number; rotations: number }>((resolve, reject) =>
    child.on('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`writer exited ${code}`));
    }),
  );
  return { done, child };
}

/** Sequence numbers in the audit file, per relay, with how often each was processed. */
export function auditCounts(file: string): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([^\t]+)\tseq=(\d+)/.exec(line);
    if (!m) continue;
    let r = out.get(m[1]);
    if (!r) out.set(m[1], (r = new Map()));
    const n = Number(m[2]);
    r.set(n, (r.get(n) ?? 0) + 1);
  }
  return out;
}

/** Sequence numbers 0..count-1 each exactly once: returns what is wrong (empty = exactly once). */
export function exactlyOnceProblems(counts: Map<number, number> | undefined, count: number, start = 0): string[] {
  const problems: string[] = [];
  const missing: number[] = [];
  for (let i = start; i < start + count; i++) {
    const n = counts?.get(i) ?? 0;
    if (n === 0) missing.push(i);
    else if (n > 1) problems.push(`seq=${i} processed ${n} times`);
  }
  if (missing.length > 0) problems.push(`${missing.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`);
  for (const k of counts?.keys() ?? []) if (k < start || k >= start + count) problems.push(`unexpected seq=${k}`);
  return problems.slice(0, 10);
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
