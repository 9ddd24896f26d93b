#!/usr/bin/env node
/**
 * pollscope command line. `replay FILE...` explains a finished log; further commands (the live
 * daemon `run`) come with their issues.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import { formatReport } from './export/report.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './reactor/model.js';
import { DEFAULT_MAX_LINE_BYTES, InputError, layoutsTried, replay } from './replay.js';
import { parseRustDuration } from './time.js';

const HELP = `pollscope — what a Rust libp2p relay's async runtime did, from its trace log

Usage:
  pollscope replay [options] FILE...   explain finished log file(s), read in the order given
  pollscope --help | --version

Replay options:
  --json                    print the report as one JSON document instead of text
  --slow-poll DURATION      poll cycle counted as slow_poll          (default 50ms)
  --blocked-poll DURATION   poll cycle that is a blocked_poll stall   (default 1s)
  --starved DURATION        I/O readiness with no swarm poll: starved (default 1s)
  --silent DURATION         nothing logged while running: silent      (default 1s)
  --date YYYY-MM-DD         date for logs whose lines have none (wezterm); default: file mtime
  --max-line-bytes N        longer lines are skipped and counted      (default ${DEFAULT_MAX_LINE_BYTES})
  --progress / --no-progress  progress bar on stderr (default: on when stderr is a terminal)

DURATION is a number with a unit (250ms, 1.5s, 800us) or a plain number of milliseconds.

Exit status: 0 report printed; 1 no file had a recognisable log line; 2 bad usage or a file
that does not exist or cannot be read.
`;

function usage(message: string): never {
  process.stderr.write(`pollscope: ${message}\nTry 'pollscope --help'.\n`);
  process.exit(2);
}

function durationFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ns = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1e6 : parseRustDuration(value);
  if (!Number.isFinite(ns) || ns < 0) usage(`--${name}: '${value}' is not a duration (e.g. 250ms, 1.5s)`);
  return ns;
}

async function replayCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true, strict: true,
      options: {
        json: { type: 'boolean' },
        'slow-poll': { type: 'string' },
        'blocked-poll': { type: 'string' },
        starved: { type: 'string' },
        silent: { type: 'string' },
        date: { type: 'string' },
        'max-line-bytes': { type: 'string' },
        progress: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (parsed.positionals.length === 0) usage('replay needs at least one FILE');
  const thresholds: Thresholds = {
    slowPollNs: durationFlag('slow-poll', v['slow-poll'], DEFAULT_THRESHOLDS.slowPollNs),
    blockedPollNs: durationFlag('blocked-poll', v['blocked-poll'], DEFAULT_THRESHOLDS.blockedPollNs),
    starvedNs: durationFlag('starved', v.starved, DEFAULT_THRESHOLDS.starvedNs),
    silentNs: durationFlag('silent', v.silent, DEFAULT_THRESHOLDS.silentNs),
  };
  let date: Date | undefined;
  if (v.date !== undefined) {
    if (!/^\d{4}-\d\d-\d\d$/.test(v.date)) usage(`--date: '${v.date}' is not YYYY-MM-DD`);
    date = new Date(`${v.date}T00:00:00Z`);
  }
  let maxLineBytes = DEFAULT_MAX_LINE_BYTES;
  if (v['max-line-bytes'] !== undefined) {
    maxLineBytes = Number(v['max-line-bytes']);
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) usage(`--max-line-bytes: '${v['max-line-bytes']}' is not a positive integer`);
  }
  const showProgress = v['no-progress'] ? false : v.progress ?? process.stderr.isTTY === true;
  const bar = showProgress
    ? new SingleBar({ stream: process.stderr, format: 'replay [{bar}] {percentage}% | {value}/{total} MB | ETA {eta}s', hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
    : null;
  let barStarted = false;
  let report;
  try {
    report = await replay(parsed.positionals, {
      thresholds, date, maxLineBytes,
      onProgress: bar ? (done, total) => {
        const mb = (n: number) => Math.round(n / 1e5) / 10;
        if (!barStarted) { bar.start(mb(total), 0); barStarted = true; }
        bar.update(mb(done));
      } : undefined,
    });
  } catch (err) {
    bar?.stop();
    if (err instanceof InputError) {
      process.stderr.write(`pollscope: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  bar?.stop();
  process.stdout.write(v.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  const unrecognised = report.files.filter((f) => f.envelope === null);
  for (const f of unrecognised) {
    process.stderr.write(`pollscope: ${f.path}: no recognisable log lines (${f.lines} lines). Layouts tried:\n` +
      layoutsTried().map((l) => `  - ${l}\n`).join(''));
  }
  return unrecognised.length === report.files.length ? 1 : 0;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'replay': return replayCommand(rest);
    case '--version': case '-V': process.stdout.write(`pollscope ${version()}\n`); return 0;
    case undefined: case '--help': case '-h': case 'help': process.stdout.write(HELP); return 0;
    default: usage(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`pollscope: internal error: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 70;
});
