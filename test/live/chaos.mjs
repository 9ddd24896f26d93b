// Randomized rotation chaos against a real `pollscope run` daemon, for the suite
// (test/live/chaos.test.ts) and `npm run soak` (soak.mjs). A seeded PRNG drives one writer that
// appends 50–400-line bursts with 0–120 ms pauses while it renames the file, renames it twice in
// quick succession (50 lines in the generation between), deletes and recreates it, truncates it,
// and kill -9s and restarts the daemon. Every line carries a sequence number; the daemon's
// --audit-records file (written together with its checkpoint) must hold each exactly once.
//
// Every line starts with the same 47 bytes (a fixed timestamp), so a fingerprint shorter than
// that tells no two files apart. Deleting or truncating a file whose lines were never read loses
// them by nature, as does killing the daemon while it still drains a deleted file; so a delete
// waits until the daemon holds the file open, a truncation until every line written so far is
// committed, and a kill after a delete until the deleted file's lines are (waits on conditions,
// with generous deadlines; copytruncate's window is not exercised: docs/live.md).
//
// "Committed" means in the audit file below the checkpoint's auditBytes. The daemon appends the
// records to the audit file first and then saves the checkpoint (write, fsync, rename); records
// beyond auditBytes are not committed yet: a kill -9 before the rename makes the next start cut
// them off and read their lines again from the checkpoint's positions — which a deleted or
// truncated file no longer has. On a loaded machine the fsync keeps that window open for tens of
// milliseconds, so counting uncommitted records as processed let a kill -9 lose the last line of
// a deleted file (seed 7, seq 10216: audited, killed before its checkpoint, cut at restart).
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/** Deterministic PRNG (mulberry32): the same seed gives the same sequence of actions. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIX = '[2026-11-30T06:00:00.000000Z INFO  relay_v2] s'; // 47 bytes, the same on every line
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Deadlines of the waits below: reached only when something is wrong (or the machine is very loaded). */
const PRECONDITION_MS = 30_000;
const DRAIN_MS = 60_000;

async function waitFor(cond, timeoutMs, what) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`chaos: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A precondition not met in time (lines already lost, or a stuck daemon): noted, and the run goes on. */
async function precondition(cond, timeoutMs, what, missed) {
  try {
    await waitFor(cond, timeoutMs, what);
  } catch {
    missed.push(what);
  }
}

/**
 * The audit file's committed part (below the checkpoint's auditBytes) read incrementally: how
 * often each seq was processed. The checkpoint is read first: the audit bytes it counts were
 * written before it, and a restart cuts the audit file back to exactly them, never below, so the
 * committed part only grows (it is re-read from the start should it ever shrink).
 */
export class AuditReader {
  constructor(file, checkpoint) {
    this.file = file;
    this.checkpoint = checkpoint;
    this.offset = 0;
    this.rest = '';
    this.counts = new Map();
    this.contiguous = 0; // every seq < contiguous seen at least once
  }
  /** The checkpoint's auditBytes (0 before the first save; a save replaces the file atomically). */
  committedBytes() {
    let text;
    try {
      text = readFileSync(this.checkpoint, 'utf8');
    } catch {
      return 0;
    }
    return JSON.parse(text).auditBytes ?? 0;
  }
  refresh() {
    const committed = this.committedBytes();
    if (!existsSync(this.file)) return;
    const fd = openSync(this.file, 'r');
    try {
      const size = Math.min(fstatSync(fd).size, committed);
      if (size < this.offset) {
        this.offset = 0;
        this.rest = '';
        this.counts.clear();
        this.contiguous = 0;
      }
      if (size === this.offset) return;
      const buf = Buffer.allocUnsafe(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const text = this.rest + buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      this.rest = lines.pop();
      for (const l of lines) {
        const m = /\tseq=(\d+)/.exec(l);
        if (m) this.counts.set(Number(m[1]), (this.counts.get(Number(m[1])) ?? 0) + 1);
      }
      while (this.counts.has(this.contiguous)) this.contiguous++;
    } finally {
      closeSync(fd);
    }
  }
  /** Whether every seq below `n` was processed and committed. */
  covers(n) {
    this.refresh();
    return this.contiguous >= n;
  }
}

/** Whether process `pid` holds the file at `file` open (its /proc fd links). */
function holdsOpen(pid, file) {
  let st;
  try {
    st = statSync(file);
  } catch {
    return false;
  }
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const s = statSync(`/proc/${pid}/fd/${fd}`);
      if (s.ino === st.ino && s.dev === st.dev) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

function startDaemon(cli, args, cwd, children) {
  const child = spawn(process.execPath, [cli, 'run', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let err = '';
  const following = new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 200_000) err = err.slice(-100_000);
      if (/run: following/.test(err)) resolve();
    });
    child.on('exit', (code, sig) => reject(new Error(`daemon exited (${code ?? sig}) before following:\n${err}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, following, exited, stderr: () => err };
}

/**
 * One chaos run. Returns { seed, lines, lost, doubled, unexpected, drained, exitCode, actions, firstProblems,
 * missed } (missed: preconditions not met in time; the run went on).
 * `children` (a Set) receives every spawned daemon so a caller can kill them on failure.
 */
export async function runChaos({ seed, durationMs, dir, cli, children = new Set(), log = () => {} }) {
  const rnd = prng(seed);
  const between = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  // Logs and daemon state in separate directories: the checkpoint's temp file would otherwise take
  // the inode numbers the log directory frees (ext4 hands a freed inode to the next file created
  // in the same block group), and the logs' generations must get them, as on a real host.
  const logs = path.join(dir, 'logs');
  const state = path.join(dir, 'state');
  mkdirSync(logs);
  mkdirSync(state);
  const file = path.join(logs, 'relay.log');
  const audit = path.join(state, 'audit.txt');
  const checkpoint = path.join(state, 'cp.json');
  const args = [
    '--log',
    file,
    '--checkpoint',
    checkpoint,
    '--audit-records',
    audit,
    '--checkpoint-interval',
    '100ms',
    '--from',
    'start',
    '--metrics-listen',
    'off',
  ];
  const reader = new AuditReader(audit, checkpoint);
  const actions = { bursts: 0, renames: 0, doubleRenames: 0, recreates: 0, truncations: 0, kills: 0 };
  let seq = 0;
  let gen = 0;
  let fd = openSync(file, 'a');
  /** Lines below this seq were in a deleted file: a kill must wait until they are committed. */
  let deletedBelow = 0;
  let daemon = startDaemon(cli, args, dir, children);
  await daemon.following;
  const missed = []; // preconditions not met in time
  let downUntil = 0; // > 0: the daemon is down (killed) until then

  const append = (n) => {
    let chunk = '';
    for (let i = 0; i < n; i++) chunk += `${PREFIX}eq=${seq++} payload ${'x'.repeat(seq % 23)}\n`;
    writeSync(fd, chunk);
  };
  const rename = () => {
    closeSync(fd);
    renameSync(file, `${file}.${++gen}`);
    fd = openSync(file, 'a');
  };

  const t0 = Date.now();
  while (Date.now() - t0 < durationMs) {
    if (downUntil > 0 && Date.now() >= downUntil) {
      daemon = startDaemon(cli, args, dir, children);
      await daemon.following;
      downUntil = 0;
    }
    const r = rnd();
    if (r < 0.05) {
      actions.renames++;
      rename();
    } else if (r < 0.15) {
      actions.doubleRenames++;
      rename();
      append(50);
      rename();
    } else if (r < 0.19 && downUntil === 0) {
      // Delete + recreate with the daemon up: once it holds the file, it drains it through its fd.
      await precondition(
        () => holdsOpen(daemon.child.pid, file),
        PRECONDITION_MS,
        'the daemon to open the file before a delete',
        missed,
      );
      actions.recreates++;
      closeSync(fd);
      unlinkSync(file);
      deletedBelow = seq;
      fd = openSync(file, 'a');
    } else if (r < 0.22 && downUntil === 0) {
      // `> file`: what was not read yet would be gone; truncate once every line so far is committed.
      await precondition(() => reader.covers(seq), PRECONDITION_MS, 'every line before a truncation', missed);
      actions.truncations++;
      ftruncateSync(fd, 0);
    } else if (r < 0.26 && downUntil === 0) {
      await precondition(
        () => reader.covers(deletedBelow),
        PRECONDITION_MS,
        "a deleted file's lines before a kill -9",
        missed,
      );
      actions.kills++;
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      children.delete(daemon.child);
      downUntil = Date.now() + between(0, 600);
    } else {
      actions.bursts++;
      append(between(50, 400));
      await sleep(between(0, 120));
    }
  }
  closeSync(fd);
  if (downUntil > 0) {
    daemon = startDaemon(cli, args, dir, children);
    await daemon.following;
  }
  const lines = seq;
  let drained = true;
  try {
    await waitFor(() => reader.covers(lines), DRAIN_MS, 'every line to be processed');
  } catch {
    drained = false;
  }
  // A little longer: a line processed twice would show up now.
  await sleep(300);
  daemon.child.kill('SIGTERM');
  const { code } = await daemon.exited;
  children.delete(daemon.child);
  reader.offset = 0;
  reader.rest = '';
  reader.counts.clear();
  reader.contiguous = 0;
  reader.refresh();
  let lost = 0;
  let doubled = 0;
  let unexpected = 0;
  const firstProblems = [];
  for (let i = 0; i < lines; i++) {
    const n = reader.counts.get(i) ?? 0;
    if (n === 0) lost++;
    if (n > 1) doubled += n - 1;
    if (n !== 1 && firstProblems.length < 5) firstProblems.push(`seq=${i} processed ${n} times`);
  }
  for (const k of reader.counts.keys()) if (k >= lines) unexpected++;
  const result = { seed, lines, lost, doubled, unexpected, drained, exitCode: code, actions, firstProblems, missed };
  log(result);
  return result;
}
