/**
 * `npm run bench`: replay throughput of the pollscope CLI on synthetic relay logs.
 *
 * Generates the inputs into bench-data/ when missing (deterministic, see generate.ts), then runs
 * `node dist/cli.js replay FILE --json` once per file as a child process — the pipeline is not
 * imported, so the figures include what a user pays — and reads the report's `run` object
 * (lines, bytes, elapsedMs, maxRssBytes). The child's wall time is measured here too, and its
 * peak RSS sampled from /proc (Linux) as a cross-check.
 *
 * Options: --quick (100k lines per envelope), --only e3-micros,t1-full, --runs N (best of N),
 * --regen (rewrite the inputs), --cli PATH (another build), --strict (exit 1 when a target is missed).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_JOBS } from '../config.js';
import { parseBenchFlags } from './bench-common.js';
import { ENVELOPE_IDS, generateLogFile, type EnvelopeId, type GenerateStats } from './generate.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.join(ROOT, 'bench-data');

/** Targets printed next to the figures. */
const TARGET_LINES_PER_SEC = 1_000_000; // env_logger envelopes
/** Issue 14: the 3M-line env_logger µs file with two jobs. */
const TARGET_LINES_PER_SEC_2_JOBS = 1_800_000;
/** Peak RSS targets on the 3M-line file: one thread, and with the parse worker (--jobs 2+). */
const TARGET_RSS_MB_1 = 150;
const TARGET_RSS_MB_2 = 200;

interface Spec {
  envelope: EnvelopeId;
  lines: number;
  envLogger: boolean;
  /** lines/s target for a non-env_logger envelope (issue 12: tracing Full/Compact ≥ 1 M, JSON ≥ 0.5 M). */
  target?: number;
}

/** Targets of the modern relay's envelopes (rust-libp2p 0.53–0.56 on tokio, FmtSpan::CLOSE). */
const TRACING_TARGETS: Partial<Record<EnvelopeId, number>> = {
  't5-libp2p-full': 1_000_000,
  't5-libp2p-compact': 1_000_000,
  't5-libp2p-json': 500_000,
};

const FULL: Spec[] = [
  { envelope: 'e3-micros', lines: 3_000_000, envLogger: true }, // headline
  { envelope: 'e1-seconds', lines: 1_000_000, envLogger: true },
  { envelope: 't1-full', lines: 1_000_000, envLogger: false },
  { envelope: 't4-json', lines: 300_000, envLogger: false },
  { envelope: 't5-libp2p-full', lines: 1_000_000, envLogger: false, target: 1_000_000 },
  { envelope: 't5-libp2p-compact', lines: 1_000_000, envLogger: false, target: 1_000_000 },
  { envelope: 't5-libp2p-json', lines: 500_000, envLogger: false, target: 500_000 },
];

interface RunFigures {
  ok: boolean;
  exitCode: number | null;
  error?: string;
  lines: number;
  bytes: number;
  /** The CLI's own pipeline time (report.run.elapsedMs), else the wall time. */
  elapsedMs: number;
  wallMs: number;
  /** The CLI's report.run.maxRssBytes, else the /proc sample. */
  maxRssBytes: number;
  procPeakRssBytes: number | null;
  detected: { waits: number | null; pollCycles: number | null; stalls: Record<string, number> | null };
}

interface Row {
  spec: Spec;
  file: string;
  stats: GenerateStats;
  run: RunFigures;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
function fmtMB(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
function fmtMiB(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** Reads the generator stats saved beside a log; null if missing or the file does not match. */
function savedStats(file: string, spec: Spec): GenerateStats | null {
  const sf = file + '.stats.json';
  if (!existsSync(file) || !existsSync(sf)) return null;
  try {
    const st = JSON.parse(readFileSync(sf, 'utf8')) as GenerateStats;
    if (st.envelope !== spec.envelope || st.bytes !== statSync(file).size || st.lines < spec.lines) return null;
    return st;
  } catch {
    return null;
  }
}

function ensureInput(spec: Spec, regen: boolean): { file: string; stats: GenerateStats } {
  const file = path.join(DATA, `${spec.envelope}-${spec.lines}.log`);
  const have = regen ? null : savedStats(file, spec);
  if (have) return { file, stats: have };
  process.stderr.write(`generating ${path.relative(ROOT, file)} (${fmtInt(spec.lines)} lines) … `);
  const t0 = process.hrtime.bigint();
  const stats = generateLogFile(file, { envelope: spec.envelope, lines: spec.lines, seed: 1 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  writeFileSync(file + '.stats.json', JSON.stringify(stats, null, 2) + '\n');
  process.stderr.write(`${fmtMB(stats.bytes)} MB in ${s.toFixed(1)} s (${fmtInt(stats.lines / s)} lines/s)\n`);
  return { file, stats };
}

/** Peak RSS so far of a live process (VmHWM), Linux only. */
function procPeak(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function runCli(cli: string, file: string, stats: GenerateStats, extraArgs: string[]): Promise<RunFigures> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [cli, 'replay', file, '--json', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    let peak: number | null = null;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-4000);
    });
    const sampler = setInterval(() => {
      const p = child.pid !== undefined ? procPeak(child.pid) : null;
      if (p !== null && (peak === null || p > peak)) peak = p;
    }, 20);
    const finish = (code: number | null, spawnError?: Error): void => {
      clearInterval(sampler);
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const base: RunFigures = {
        ok: false,
        exitCode: code,
        lines: stats.lines,
        bytes: stats.bytes,
        elapsedMs: wallMs,
        wallMs,
        maxRssBytes: peak ?? 0,
        procPeakRssBytes: peak,
        detected: { waits: null, pollCycles: null, stalls: null },
      };
      if (spawnError) {
        resolve({ ...base, error: spawnError.message });
        return;
      }
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(Buffer.concat(out).toString('utf8')) as Record<string, unknown>;
      } catch {
        resolve({
          ...base,
          error: `exit ${code}; stdout is not one JSON document; stderr: ${err.trim().slice(-600) || '(empty)'}`,
        });
        return;
      }
      const run = (doc.run ?? {}) as Record<string, unknown>;
      const waits = doc.waits as Record<string, unknown> | undefined;
      const polls = doc.pollCycles as Record<string, unknown> | undefined;
      const stalls = doc.stalls as { counts?: Record<string, number> } | undefined;
      resolve({
        ...base,
        ok: code === 0,
        error: code === 0 ? undefined : `exit ${code}: ${err.trim().slice(-600)}`,
        lines: num(run.lines) ?? stats.lines,
        bytes: num(run.bytes) ?? stats.bytes,
        elapsedMs: num(run.elapsedMs) ?? wallMs,
        maxRssBytes: num(run.maxRssBytes) ?? peak ?? 0,
        detected: {
          waits: num(waits?.count),
          pollCycles: num(polls?.count),
          stalls: stalls?.counts && typeof stalls.counts === 'object' ? stalls.counts : null,
        },
      });
    };
    child.on('error', (e) => finish(null, e));
    child.on('close', (code) => finish(code));
  });
}

function table(head: string[], rows: string[][], rightAlign: boolean[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (rightAlign[i] ? c.padStart(w[i]) : c.padEnd(w[i])))
      .join('  ')
      .trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

const USAGE =
  'Usage: npm run bench [-- --quick] [--only ENV,...] [--runs N] [--regen] [--cli PATH] [--strict]\n' +
  '         [--replay-args "--jobs 2"] [--gz (also each input gzip\'d by gzip -6: replay speed of .gz)]\n' +
  `Envelopes: ${ENVELOPE_IDS.join(', ')}`;

async function main(argv: string[]): Promise<number> {
  const values = parseBenchFlags(
    argv,
    {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      runs: { type: 'string' },
      regen: { type: 'boolean' },
      cli: { type: 'string' },
      strict: { type: 'boolean' },
      'replay-args': { type: 'string', default: '' },
      gz: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (typeof values === 'number') return values;
  const quick = values.quick === true;
  let specs = FULL.map((s) => ({ ...s, lines: quick ? 100_000 : s.lines }));
  if (values.only) {
    const only = values.only.split(',').map((s) => s.trim()) as EnvelopeId[];
    for (const e of only)
      if (!ENVELOPE_IDS.includes(e)) {
        process.stderr.write(`unknown envelope '${e}'\n`);
        return 2;
      }
    specs = specs.filter((s) => only.includes(s.envelope));
    for (const e of only) {
      if (!specs.some((s) => s.envelope === e))
        specs.push({
          envelope: e,
          lines: quick ? 100_000 : 1_000_000,
          envLogger: e.startsWith('e'),
          target: TRACING_TARGETS[e],
        });
    }
  }
  const runs = Math.max(1, Number(values.runs ?? 1) | 0);
  const cli = path.resolve(values.cli ?? path.join(ROOT, 'dist', 'cli.js'));
  if (!existsSync(cli)) {
    process.stderr.write(
      `bench: ${path.relative(process.cwd(), cli) || cli} not found — run \`npm run build\` first\n`,
    );
    return 2;
  }

  const cpus = os.cpus();
  const machine =
    `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${fmtMB(os.totalmem() / 1e3)} GB RAM, ` +
    `Node ${process.version}, ${os.platform()} ${os.release()}`;

  const extraArgs = values['replay-args'].split(/\s+/).filter(Boolean);
  const jobsAt = extraArgs.indexOf('--jobs');
  const jobs = jobsAt >= 0 ? Number(extraArgs[jobsAt + 1]) : DEFAULT_JOBS; // replay's default
  const inputs = specs.flatMap((spec) => {
    const input = { spec, ...ensureInput(spec, values.regen === true) };
    if (!values.gz) return [input];
    const gz = input.file + '.gz';
    if (!existsSync(gz) || values.regen === true)
      writeFileSync(gz, execFileSync('gzip', ['-6', '-c', input.file], { maxBuffer: 1 << 30 }));
    return [input, { ...input, spec: { ...spec, envelope: `${spec.envelope}.gz` as EnvelopeId }, file: gz }];
  });
  const rows: Row[] = [];
  for (const { spec, file, stats } of inputs) {
    process.stderr.write(`replaying ${path.relative(ROOT, file)}${runs > 1 ? ` (best of ${runs})` : ''} … `);
    let best: RunFigures | null = null;
    for (let i = 0; i < runs; i++) {
      const r = await runCli(cli, file, stats, extraArgs);
      if (!r.ok) {
        best = r;
        break;
      }
      if (best === null || r.elapsedMs < best.elapsedMs) best = r;
    }
    const run = best!;
    process.stderr.write(run.ok ? `${(run.elapsedMs / 1000).toFixed(2)} s\n` : `FAILED\n  ${run.error}\n`);
    rows.push({ spec, file, stats, run });
  }

  // --- report
  const headline = rows.find((r) => r.spec.envelope === 'e3-micros');
  let missed = false;
  const body = rows.map((r) => {
    const { run } = r;
    const secs = run.elapsedMs / 1000;
    const lps = secs > 0 ? run.lines / secs : 0;
    const targets: string[] = [];
    const target = r.spec.envLogger
      ? jobs > 1 && r.spec.lines >= 3_000_000
        ? TARGET_LINES_PER_SEC_2_JOBS
        : TARGET_LINES_PER_SEC
      : r.spec.target;
    if (run.ok && target !== undefined) {
      const pass = lps >= target;
      missed ||= !pass;
      targets.push(`${pass ? 'ok' : 'MISSED'} ≥${fmtInt(target)} lines/s`);
    }
    if (run.ok && r.spec.lines >= 3_000_000) {
      const targetMb = jobs > 1 ? TARGET_RSS_MB_2 : TARGET_RSS_MB_1;
      const pass = run.maxRssBytes < targetMb * 1024 * 1024;
      missed ||= !pass;
      targets.push(`${pass ? 'ok' : 'MISSED'} RSS <${targetMb} MB (jobs ${jobs})`);
    }
    if (!run.ok)
      return [
        r.spec.envelope,
        fmtInt(r.stats.lines),
        fmtMB(r.stats.bytes),
        'failed',
        '',
        '',
        '',
        '',
        '',
        run.error?.split('\n')[0].slice(0, 60) ?? '',
      ];
    return [
      r.spec.envelope,
      fmtInt(run.lines),
      fmtMB(run.bytes),
      secs.toFixed(2),
      (run.wallMs / 1000).toFixed(2),
      fmtInt(lps),
      (secs > 0 ? run.bytes / 1e6 / secs : 0).toFixed(1),
      fmtMiB(run.maxRssBytes),
      run.procPeakRssBytes !== null ? fmtMiB(run.procPeakRssBytes) : '-',
      targets.join(', '),
    ];
  });
  let out = `\npollscope replay benchmark${quick ? ' (quick)' : ''} — ${machine}\n\n`;
  out += table(
    ['envelope', 'lines', 'MB', 'seconds', 'wall s', 'lines/s', 'MB/s', 'peak RSS MB', '/proc RSS', 'targets'],
    body,
    [false, true, true, true, true, true, true, true, true, false],
  );
  out +=
    `\nseconds = the CLI's own report.run.elapsedMs (lines/s and MB/s use it); wall s = child process incl. start-up.\n` +
    `peak RSS = report.run.maxRssBytes; /proc RSS = VmHWM sampled every 20 ms (MiB).\n` +
    `Targets: env_logger envelopes ≥ ${fmtInt(TARGET_LINES_PER_SEC)} lines/s; t5-libp2p Full/Compact ≥ 1,000,000 and JSON ≥ 500,000 lines/s; peak RSS < 150 MB on the 3M-line file` +
    (headline ? '' : ' (not run)') +
    '.\n';

  // generated truth vs what the CLI found (only when the report has those sections)
  const g = (n: number | null | undefined, want: number): string =>
    n === null || n === undefined ? `${fmtInt(want)}/-` : `${fmtInt(want)}/${fmtInt(n)}`;
  const det = rows.map((r) => {
    const s = r.stats.stalls,
      d = r.run.detected.stalls;
    return [
      r.spec.envelope,
      g(r.run.detected.waits, r.stats.waits),
      g(r.run.detected.pollCycles, r.stats.pollCycles),
      g(d?.slow_poll, s.slow_poll),
      g(d?.blocked_poll, s.blocked_poll),
      g(d?.starved, s.starved),
      g(d?.silent, s.silent),
    ];
  });
  out +=
    '\ngenerated/detected:\n' +
    table(['envelope', 'waits', 'poll cycles', 'slow_poll', 'blocked_poll', 'starved', 'silent'], det, [
      false,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  process.stdout.write(out);

  const resultFile = path.join(DATA, `results${quick ? '-quick' : ''}.json`);
  writeFileSync(
    resultFile,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: {
          cpu: cpus[0]?.model.trim(),
          cores: cpus.length,
          node: process.version,
          platform: `${os.platform()} ${os.release()}`,
          totalMem: os.totalmem(),
        },
        quick,
        rows: rows.map((r) => ({
          envelope: r.spec.envelope,
          file: path.relative(ROOT, r.file),
          generated: r.stats,
          run: r.run,
        })),
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), resultFile)}\n`);

  if (rows.some((r) => !r.run.ok)) return 1;
  return values.strict && missed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 70;
  },
);
