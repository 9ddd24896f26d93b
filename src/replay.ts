/**
 * `pollscope replay`: whole files through the pipeline — lines → records → decoders → reactor
 * model → observations — and the report at the end. Files given together are one log read in
 * the order given (rotated segments, oldest first): the reactor's state carries across them.
 */
import { stat } from 'node:fs/promises';
import { buildReport, ReportCollector, type FileSummary, type ReplayReport } from './export/report.js';
import { ENVELOPES } from './parse/envelopes.js';
import type { LogRecord } from './parse/record.js';
import { RelayPipeline } from './pipeline.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './reactor/model.js';
import type { ObservationSink } from './reactor/observations.js';
import { readFileLines } from './source/file-lines.js';
import { formatTime, logTime } from './time.js';
import { describeFsError } from './source/fs-errors.js';
import { DEFAULT_MAX_LINE_BYTES } from './config.js';

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
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** An input problem the user must fix (missing file, unreadable): the CLI exits 2 on it. */
export class InputError extends Error {}

export async function replay(paths: string[], opts: ReplayOptions = {}): Promise<ReplayReport> {
  const started = process.hrtime.bigint();
  const sizes: Array<{ path: string; size: number; mtime: Date }> = [];
  for (const path of paths) {
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new InputError(`${path}: not a regular file`);
      sizes.push({ path, size: st.size, mtime: st.mtime });
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`${path}: ${describeFsError(err)}`);
    }
  }
  const totalBytes = sizes.reduce((n, f) => n + f.size, 0);

  const collector = opts.report ?? new ReportCollector();
  const pipeline = new RelayPipeline(
    opts.relay ?? 'replay',
    opts.report ? (opts.sinks ?? [collector]) : [collector, ...(opts.sinks ?? [])],
    opts.thresholds ?? DEFAULT_THRESHOLDS,
  );
  opts.onPipeline?.(pipeline);
  const files: FileSummary[] = [];
  let doneBytes = 0;
  let lines = 0;
  for (const f of sizes) {
    const tracker = new FileTracker();
    const assembler = pipeline.openFile(f.path, opts.date ?? f.mtime, (rec) => tracker.record(rec));
    let read;
    try {
      read = await readFileLines(f.path, assembler, {
        maxLineBytes: opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
        onProgress: (b) => opts.onProgress?.(doneBytes + b, totalBytes),
        pace: opts.pace,
      });
    } catch (err) {
      throw new InputError(`${f.path}: ${describeFsError(err)}`);
    }
    assembler.flush();
    doneBytes += read.bytes;
    lines += read.lines;
    files.push({
      path: f.path,
      envelope: assembler.envelope?.id ?? null,
      bytes: read.bytes,
      lines: read.lines,
      firstTime: tracker.first,
      lastTime: tracker.lastTime,
      timestampDigits: tracker.timed ? tracker.minDigits : null,
    });
  }
  pipeline.finish();
  const { model, ingest } = pipeline;
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  return buildReport(
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
      bytes: doneBytes,
      elapsedMs: Math.round(elapsedMs),
      linesPerSec: elapsedMs > 0 ? Math.round(lines / (elapsedMs / 1000)) : 0,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    },
  );
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
