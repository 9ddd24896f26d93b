/**
 * `npm run bench:stages`: where a replay's time goes, stage by stage, on this machine — the floors
 * the speed targets of `npm run bench` and `npm run bench:peer` sit on.
 *
 * For each bench file (generated into bench-data/ when missing, as `npm run bench` does), rounds
 * run one after the other, interleaved, each measure as its own process:
 *   readline  a plain Node `readline` loop that counts lines (the simplest line-by-line program);
 *   lines     pollscope's line reader alone (src/source/file-lines.ts), counting lines;
 *   parse     the line reader and the envelope parser (RecordAssembler): the parse worker's stage
 *             on one thread, without handing records on;
 *   jobs 1    `replay --jobs 1`: parse, decode, model and report on one thread;
 *   jobs 2    `replay --jobs 2`: the parse worker beside the main thread's decode and model.
 * It prints medians of the wall time (with Node's start-up) and of the time measured inside the
 * process, lines/s from the latter, and two derived figures: decode + model (jobs 1 minus parse)
 * and how much of the ideal two-stage overlap jobs 2 gets.
 *
 * Options: --only t5-libp2p-full,e3-micros (bench file envelopes, default all four below),
 * --runs N (rounds, default 5), --cli PATH (another build's dist/cli.js).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordAssembler } from '../parse/record-assembler.js';
import { readFileLines } from '../source/file-lines.js';
import { generateLogFile, type EnvelopeId } from './generate.js';
import { median, parseBenchFlags, READLINE_LOOP } from './bench-common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.join(ROOT, 'bench-data');
const SELF = fileURLToPath(import.meta.url);
const MAX_LINE_BYTES = 1 << 20;
const USAGE = 'usage: npm run bench:stages -- [--only ENVELOPE,…] [--runs N] [--cli PATH]';

/** The files `npm run bench` reads for the modern relay's envelopes, and bench:peer's. */
const FILES: { envelope: EnvelopeId; lines: number; name: string }[] = [
  { envelope: 't5-libp2p-full', lines: 1_000_000, name: 't5-libp2p-full-1000000' },
  { envelope: 't5-libp2p-compact', lines: 1_000_000, name: 't5-libp2p-compact-1000000' },
  { envelope: 't5-libp2p-json', lines: 500_000, name: 't5-libp2p-json-500000' },
  { envelope: 'e3-micros', lines: 1_000_000, name: 'peer-e3-micros-1000000' },
];

const MEASURES = ['readline', 'lines', 'parse', 'jobs 1', 'jobs 2'] as const;
type Measure = (typeof MEASURES)[number];

interface Sample {
  wallMs: number;
  /** Time inside the process (readline: wall, it prints none). */
  innerMs: number;
}

/** Child mode: `node stage-bench.js --child lines|parse FILE` prints `{"ms":…,"lines":…}`. */
async function child(mode: string, file: string): Promise<void> {
  const t0 = performance.now();
  let lines = 0;
  if (mode === 'lines') {
    await readFileLines(
      file,
      {
        line() {
          lines++;
        },
        oversize() {
          lines++;
        },
      },
      { maxLineBytes: MAX_LINE_BYTES },
    );
  } else {
    const count = (): void => {
      lines++;
    };
    // trackMessageAt on, as in the parse worker.
    const assembler = new RecordAssembler({ record: count, malformed: count, oversize: count }, new Date(), '', true);
    await readFileLines(file, assembler, { maxLineBytes: MAX_LINE_BYTES });
    assembler.flush();
  }
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0, lines }) + '\n');
}

function run(measure: Measure, file: string, cli: string): Sample {
  let args: string[];
  if (measure === 'readline') args = ['-e', READLINE_LOOP, file];
  else if (measure === 'lines' || measure === 'parse') args = [SELF, '--child', measure, file];
  else args = [cli, 'replay', file, '--json', '--jobs', measure === 'jobs 1' ? '1' : '2'];
  const t0 = process.hrtime.bigint();
  const out = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (out.status !== 0) throw new Error(`${measure} on ${file} exited ${out.status}: ${out.stderr.slice(0, 500)}`);
  if (measure === 'readline') return { wallMs, innerMs: wallMs };
  if (measure === 'lines' || measure === 'parse')
    return { wallMs, innerMs: (JSON.parse(out.stdout) as { ms: number }).ms };
  return { wallMs, innerMs: (JSON.parse(out.stdout) as { run: { elapsedMs: number } }).run.elapsedMs };
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--child') {
    await child(argv[1], argv[2]);
    return 0;
  }
  const values = parseBenchFlags(
    argv,
    {
      only: { type: 'string' },
      runs: { type: 'string', default: '5' },
      cli: { type: 'string', default: path.join(ROOT, 'dist/cli.js') },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (typeof values === 'number') return values;
  const only = values.only?.split(',');
  const files = FILES.filter((f) => only === undefined || only.includes(f.envelope) || only.includes(f.name));
  if (files.length === 0) throw new Error(`--only: none of ${FILES.map((f) => f.envelope).join(', ')}`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: a whole number ≥ 1');
  const cpus = os.cpus();
  process.stdout.write(
    `${cpus.length} × ${cpus[0]?.model ?? '?'}, Node ${process.versions.node}; medians of ${runs} interleaved rounds\n`,
  );
  for (const f of files) {
    const file = path.join(DATA, `${f.name}.log`);
    if (!existsSync(file)) {
      process.stderr.write(`generating ${file}…\n`);
      generateLogFile(file, { envelope: f.envelope, lines: f.lines, seed: 1 });
    }
    const samples = new Map<Measure, Sample[]>(MEASURES.map((m) => [m, []]));
    for (let r = 0; r < runs; r++) for (const m of MEASURES) samples.get(m)!.push(run(m, file, values.cli));
    const wall = (m: Measure): number => median(samples.get(m)!.map((s) => s.wallMs));
    const inner = (m: Measure): number => median(samples.get(m)!.map((s) => s.innerMs));
    process.stdout.write(`\n${f.name}\n`);
    for (const m of MEASURES) {
      const rate = f.lines / inner(m) / 1000;
      process.stdout.write(
        `  ${m.padEnd(9)} wall ${wall(m).toFixed(0).padStart(6)} ms   inside ${inner(m).toFixed(0).padStart(6)} ms   ${rate.toFixed(2)} M lines/s\n`,
      );
    }
    // jobs 2 at best takes as long as its longer stage: parse, or decode + model.
    const decodeModel = inner('jobs 1') - inner('parse');
    const ideal = Math.max(inner('parse'), decodeModel);
    process.stdout.write(
      `  decode + model (jobs 1 − parse) ${decodeModel.toFixed(0)} ms; ideal jobs 2 ${ideal.toFixed(0)} ms, ` +
        `measured ${inner('jobs 2').toFixed(0)} ms (${((100 * ideal) / inner('jobs 2')).toFixed(0)} % of the ideal); ` +
        `jobs 2 wall is ${((100 * wall('readline')) / wall('jobs 2')).toFixed(0)} % of readline's speed\n`,
    );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:stages: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
