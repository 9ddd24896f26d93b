/**
 * `npm run bench:peer`: pollscope replay beside a peer on the same log, interleaved.
 *
 * The log is the bench's `e3-micros` envelope (env_logger µs, polling fork and upstream lines,
 * noise targets; generated into bench-data/ when missing, deterministic). Each round runs, one
 * after the other: `pollscope replay FILE --json` (wall time including Node's start-up), mtail
 * (Debian package `mtail`, installed here with apt-get when missing and running as root) with
 * `bench/relay.mtail` in one-shot mode, and a plain Node `readline` loop that only counts lines
 * (the floor for any line-by-line Node program). It prints each tool's median and best wall time,
 * pollscope's ratio to mtail, and pollscope's speed as a share of the readline loop's; and it
 * checks that pollscope and mtail counted the same epoll waits and swarm poll cycles.
 *
 * Options: --lines N (default 1,000,000), --runs N (rounds, default 3), --cli PATH,
 * --replay-args="…" (extra replay flags, e.g. --replay-args="--jobs 2": with "=", as the value starts with "-"), --no-install.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateLogFile } from './generate.js';
import { median, READLINE_LOOP } from './bench-common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.join(ROOT, 'bench-data');
const MTAIL_PROGS = path.join(ROOT, 'bench');

/** Targets from the issue, printed beside the figures. */
const TARGET_X_MTAIL = 7;
const TARGET_SHARE_OF_READLINE = 0.7;

interface Timed {
  wallMs: number;
  stdout: string;
}

function timed(cmd: string, args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) {
        reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString().slice(0, 500)}`));
        return;
      }
      resolve({ wallMs, stdout: Buffer.concat(out).toString() });
    });
  });
}

function ensureMtail(install: boolean): void {
  if (spawnSync('mtail', ['--version']).status === 0) return;
  if (!install || process.getuid?.() !== 0) {
    throw new Error('mtail is not installed: apt-get install mtail (Debian), or run as root without --no-install');
  }
  process.stderr.write('installing mtail (apt-get)…\n');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'mtail'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function mtailCounter(text: string, name: string): number {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '3' },
      cli: { type: 'string', default: path.join(ROOT, 'dist/cli.js') },
      'replay-args': { type: 'string', default: '' },
      'no-install': { type: 'boolean', default: false },
    },
  });
  const lines = Number(values.lines);
  const runs = Number(values.runs);
  if (!(lines > 0) || !(runs > 0)) throw new Error('--lines and --runs take positive numbers');
  ensureMtail(!values['no-install']);

  mkdirSync(DATA, { recursive: true });
  const file = path.join(DATA, `peer-e3-micros-${lines}.log`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${file}…\n`);
    generateLogFile(file, { envelope: 'e3-micros', lines });
  }
  const loop = path.join(DATA, 'readline-loop.cjs');
  writeFileSync(loop, READLINE_LOOP);
  const replayArgs = ['replay', file, '--json', '--no-progress', ...values['replay-args'].split(/\s+/).filter(Boolean)];

  const times = { pollscope: [] as number[], mtail: [] as number[], readline: [] as number[] };
  let counts = { pollscopeWaits: NaN, pollscopePolls: NaN, mtailWaits: NaN, mtailPolls: NaN, readlineLines: NaN };
  for (let r = 0; r < runs; r++) {
    const p = await timed(process.execPath, [values.cli, ...replayArgs]);
    const report = JSON.parse(p.stdout) as { waits: { count: number }; pollCycles: { count: number } };
    const m = await timed('mtail', [
      '--progs',
      MTAIL_PROGS,
      '--logs',
      file,
      '--one_shot',
      '--one_shot_format',
      'prometheus',
      '--logtostderr',
    ]);
    const l = await timed(process.execPath, [loop, file]);
    times.pollscope.push(p.wallMs);
    times.mtail.push(m.wallMs);
    times.readline.push(l.wallMs);
    counts = {
      pollscopeWaits: report.waits.count,
      pollscopePolls: report.pollCycles.count,
      mtailWaits: mtailCounter(m.stdout, 'relay_epoll_waits_total'),
      mtailPolls: mtailCounter(m.stdout, 'relay_swarm_polls_total'),
      readlineLines: Number(l.stdout.trim()),
    };
    process.stderr.write(
      `round ${r + 1}/${runs}: pollscope ${p.wallMs.toFixed(0)} ms, mtail ${m.wallMs.toFixed(0)} ms, readline ${l.wallMs.toFixed(0)} ms\n`,
    );
  }

  const row = (name: string, xs: number[]): string =>
    `  ${name.padEnd(10)} median ${median(xs).toFixed(0).padStart(6)} ms   best ${Math.min(...xs)
      .toFixed(0)
      .padStart(6)} ms   ${(((lines / median(xs)) * 1e3) / 1e6).toFixed(2)} M lines/s (median)`;
  const xMtail = median(times.mtail) / median(times.pollscope);
  const share = median(times.readline) / median(times.pollscope);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`bench:peer — ${lines.toLocaleString('en')} lines (${path.basename(file)}), ${runs} interleaved rounds`);
  console.log(`machine: ${os.cpus().length} × ${cpu}, Node ${process.version}`);
  console.log(`replay args: ${replayArgs.slice(2).join(' ')}`);
  console.log(row('pollscope', times.pollscope));
  console.log(row('mtail', times.mtail));
  console.log(row('readline', times.readline));
  console.log(
    `pollscope vs mtail: ${xMtail.toFixed(2)}× faster (target ≥ ${TARGET_X_MTAIL}×)${xMtail >= TARGET_X_MTAIL ? '' : '  MISSED'}`,
  );
  console.log(
    `pollscope vs readline loop: ${(share * 100).toFixed(0)} % of its speed (target ≥ ${TARGET_SHARE_OF_READLINE * 100} %)${share >= TARGET_SHARE_OF_READLINE ? '' : '  MISSED'}`,
  );
  const agree = counts.pollscopeWaits === counts.mtailWaits && counts.pollscopePolls === counts.mtailPolls;
  console.log(
    `counts: waits pollscope ${counts.pollscopeWaits} / mtail ${counts.mtailWaits}, swarm polls pollscope ${counts.pollscopePolls} / mtail ${counts.mtailPolls}, lines (readline) ${counts.readlineLines}${agree ? '' : '  DISAGREE'}`,
  );
  if (!agree) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
