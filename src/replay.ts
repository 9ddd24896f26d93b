/**
 * `pollscope replay`: whole files through the pipeline — lines → records → decoders → reactor
 * model → observations — and the report at the end. Files given together are one log read in
 * the order given (rotated segments, oldest first): the reactor's state carries across them.
 * Inputs may be plain or gzip'd files, `-` (stdin), FIFOs and process substitutions
 * (src/source/inputs.ts).
 */
import { buildReport, ReportCollector, type FileSummary, type ReplayReport } from './export/report.js';
import { ENVELOPES } from './parse/envelopes.js';
import type { LogRecord } from './parse/record.js';
import { RelayPipeline } from './pipeline.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './reactor/model.js';
import type { ObservationSink } from './reactor/observations.js';
import { PARALLEL_MIN_BYTES, ParseWorker } from './replay-parallel.js';
import { InputSpecError, readInputLines, resolveInputs, type InputSpec } from './source/inputs.js';
import { formatTime, logTime } from './time.js';
import { describeFsError } from './source/fs-errors.js';
import { DEFAULT_JOBS, DEFAULT_MAX_LINE_BYTES } from './config.js';

export interface ReplayOptions {
  thresholds?: Thresholds;
  /** Date for logs whose lines carry none (wezterm's time of day); default: the file's mtime. */
  date?: Date;
  maxLineBytes?: number;
  /** Other observers (metrics, traces) next to the report. */
  sinks?: ObservationSink[];
  /** The report's collector when the caller built it among `sinks` (exportersFor); default: one of its own, first. */
  report?: ReportCollector;
  /** Relay name for exporters' labels (default 'replay'). */
  relay?: string;
  /** Called with the pipeline once it exists: exporters read its counters (metrics at the end). */
  onPipeline?: (pipeline: RelayPipeline) => void;
  /** Awaited between chunks when it returns a promise: lets a slow exporter hold the reader back. */
  pace?: () => Promise<void> | null;
  /**
   * Bytes read so far (compressed bytes for a .gz) and the inputs' total size; total is null
   * when an input is a pipe or stdin (no size known in advance).
   */
  onProgress?: (doneBytes: number, totalBytes: number | null) => void;
  /**
   * 1: read, parse and model on this thread. 2 or more: regular files of at least
   * `parallelMinBytes` are read and parsed by a worker thread while this one decodes and models
   * (same results). Default: defaultJobs().
   */
  jobs?: number;
  /** Smallest file handed to the parse worker (default PARALLEL_MIN_BYTES; tests set it low). */
  parallelMinBytes?: number;
}

/** DEFAULT_JOBS: 2 with two cores or more, else 1 (config.ts says why). */
export function defaultJobs(): number {
  return DEFAULT_JOBS;
}

/** An input that ended early (corrupt or truncated gzip, read error): its lines before that counted. */
export interface InputFailure {
  path: string;
  error: string;
}

/** The report plus the inputs that could not be read to their end (the CLI then exits 1). */
export type ReplayResult = ReplayReport & { inputErrors: InputFailure[] };

/** An input problem the user must fix (missing file, unreadable): the CLI exits 2 on it. */
export class InputError extends Error {}

export async function replay(paths: string[], opts: ReplayOptions = {}): Promise<ReplayResult> {
  const started = process.hrtime.bigint();
  let inputs: InputSpec[];
  try {
    inputs = await resolveInputs(paths);
  } catch (err) {
    if (err instanceof InputSpecError) throw new InputError(err.message);
    throw err;
  }
  const totalBytes = inputs.every((f) => f.size !== null) ? inputs.reduce((n, f) => n + f.size!, 0) : null;

  const collector = opts.report ?? new ReportCollector();
  const pipeline = new RelayPipeline(
    opts.relay ?? 'replay',
    opts.report ? (opts.sinks ?? [collector]) : [collector, ...(opts.sinks ?? [])],
    opts.thresholds ?? DEFAULT_THRESHOLDS,
  );
  opts.onPipeline?.(pipeline);
  const files: FileSummary[] = [];
  const inputErrors: InputFailure[] = [];
  let doneBytes = 0;
  let readBytes = 0;
  let lines = 0;
  const jobs = opts.jobs ?? defaultJobs();
  const minBytes = opts.parallelMinBytes ?? PARALLEL_MIN_BYTES;
  let worker: ParseWorker | null = null;
  try {
    for (const f of inputs) {
      const onProgress = (b: number): void => opts.onProgress?.(doneBytes + b, totalBytes);
      const useWorker = jobs > 1 && f.regular && f.size !== null && f.size >= minBytes;
      if (useWorker) worker ??= new ParseWorker();
      const { read, summary, progressed } = await readInput(f, pipeline, useWorker ? worker : null, opts, onProgress);
      doneBytes += f.size ?? progressed;
      readBytes += read.bytes;
      lines += read.lines;
      if (read.error !== null) inputErrors.push({ path: f.path, error: read.error });
      files.push(summary);
    }
  } finally {
    await worker?.close();
  }
  pipeline.finish();
  const { model, ingest } = pipeline;
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const report = buildReport(
    collector,
    files,
    ingest.lines,
    ingest.targetCounts(),
    ingest.problems,
    model.counters,
    model.lastPollEnd,
    model.lastPollReady,
    {
      files: files.length,
      lines,
      bytes: readBytes,
      elapsedMs: Math.round(elapsedMs),
      linesPerSec: elapsedMs > 0 ? Math.round(lines / (elapsedMs / 1000)) : 0,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    },
  );
  // First in the warnings: the report covers less than the input.
  report.warnings.unshift(
    ...inputErrors.map(
      (e) => `${e.path}: ${e.error}; the lines before it were replayed, the rest of this input was not`,
    ),
  );
  return { ...report, inputErrors };
}

/** One input through the pipeline: on this thread, or parsed by the worker when one is given. */
async function readInput(
  f: InputSpec,
  pipeline: RelayPipeline,
  worker: ParseWorker | null,
  opts: ReplayOptions,
  onProgress: (bytes: number) => void,
): Promise<{ read: { bytes: number; lines: number; error: string | null }; summary: FileSummary; progressed: number }> {
  const tracker = new FileTracker();
  const trackRecord = (rec: LogRecord): void => tracker.record(rec);
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let progressed = 0;
  const progress = (b: number): void => {
    progressed = b;
    onProgress(b);
  };
  let read;
  let envelope: string | null;
  try {
    if (worker !== null) {
      const sink = pipeline.fileSink(f.path, trackRecord);
      read = await worker.parse(f.arg, opts.date ?? f.mtime, maxLineBytes, sink, { progress, pace: opts.pace });
      envelope = read.envelope;
    } else {
      const assembler = pipeline.openFile(f.path, opts.date ?? f.mtime, trackRecord);
      read = await readInputLines(f, assembler, { maxLineBytes, onProgress: progress, pace: opts.pace });
      assembler.flush();
      envelope = assembler.envelope?.id ?? null;
    }
  } catch (err) {
    throw new InputError(`${f.path}: ${describeFsError(err)}`);
  }
  const summary: FileSummary = {
    path: f.path,
    envelope,
    bytes: read.bytes,
    lines: read.lines,
    firstTime: tracker.first,
    lastTime: tracker.lastTime,
    timestampDigits: tracker.timed ? tracker.minDigits : null,
  };
  return { read, summary, progressed };
}

/** Layouts tried on a file that matched none: for the error message. */
export function layoutsTried(): string[] {
  return ENVELOPES.map((e) => e.description);
}

/** Remembers a file's first and last timestamp and its coarsest precision. */
class FileTracker {
  first: string | null = null;
  minDigits = 9;
  timed = false;
  private lastSec = 0;
  private lastNsec = 0;
  private lastDigits = 0;

  record(rec: LogRecord): void {
    if (!rec.hasTime) return;
    if (!this.timed) {
      this.timed = true;
      this.first = formatTime(logTime(rec.sec, rec.nsec, rec.digits));
    }
    if (rec.digits < this.minDigits) this.minDigits = rec.digits;
    this.lastSec = rec.sec;
    this.lastNsec = rec.nsec;
    this.lastDigits = rec.digits;
  }

  get lastTime(): string | null {
    return this.timed ? formatTime(logTime(this.lastSec, this.lastNsec, this.lastDigits)) : null;
  }
}
