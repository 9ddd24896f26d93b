/**
 * Fuzz target: the bytes of one log file through the whole replay path — line splitting,
 * envelope detection and parsing, record assembly, decoders, reactor model, report (text and
 * JSON) — with the invariants every input must keep checked on the way. Nothing here reads a
 * file, the clock of the log or the network: one call is one execution.
 *
 * `fuzz(data)` is the entry point a coverage-guided fuzzer calls. With Jazzer.js on a host where
 * its prebuilt addon loads (glibc ≥ 2.38; Debian 12 has 2.36, so not on this project's CI):
 *
 *     npx tsc -p tsconfig.json
 *     npx jazzer dist/fuzz/target test/fuzz/corpus --sync -- -max_total_time=600 -timeout=5
 *
 * (`--sync`: the target is synchronous; `-timeout`: libFuzzer's per-input hang limit; the corpus
 * folder can be seeded with `node dist/fuzz/run.js --write-corpus test/fuzz/corpus`.)
 * Here `npm run fuzz` (src/fuzz/run.ts) drives the same function with fast-check mutations of
 * the repository's logs, in a worker with a hang watchdog.
 */
import { buildReport, formatReport, ReportCollector, type ReplayReport } from '../export/report.js';
import type { LogRecord } from '../parse/record.js';
import { RelayPipeline } from '../pipeline.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../reactor/model.js';
import type {
  ObservationSink,
  PollCycleObservation,
  StallObservation,
  UnfinishedObservation,
  WaitObservation,
  WakeToPollObservation,
} from '../reactor/observations.js';
import { LineSplitter, type LineSink } from '../source/file-lines.js';
import { formatTime, NS_PER_SEC, type LogTime } from '../time.js';

/** An input broke an invariant: a finding, like an exception. */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

export interface TargetOptions {
  /** Line length limit (the CLI's default is 1 MiB; small here so fuzzed inputs reach it). */
  maxLineBytes?: number;
  /** Bytes per push into the line splitter: several pushes exercise lines cut between reads. */
  chunkBytes?: number;
  /** A line taking longer than this (ms) is a finding (a hang caught before it is endless). */
  lineBudgetMs?: number;
  thresholds?: Thresholds;
  /** Also render the text report and the JSON (what the CLI prints); default true. */
  render?: boolean;
}

export interface TargetResult {
  report: ReplayReport;
  linesRead: number;
  /** Slowest line, ms (with lineBudgetMs set). */
  slowestLineMs: number;
}

const BASE_DATE = new Date('2022-04-21T00:00:00Z');
const DEFAULT_MAX_LINE_BYTES = 4096;

/** The libFuzzer/Jazzer.js entry point: throws on a crash or a broken invariant. */
export function fuzz(data: Buffer): void {
  runTarget(data, { chunkBytes: chunkSizeFor(data) });
}

/** Splits the input into 1..4 reads depending on its first byte, so cut lines are explored too. */
export function chunkSizeFor(data: Buffer): number {
  const parts = data.length === 0 ? 1 : (data[0] % 4) + 1;
  return Math.max(1, Math.ceil(data.length / parts));
}

export function runTarget(data: Buffer, opts: TargetOptions = {}): TargetResult {
  const checker = new InvariantChecker();
  const collector = new ReportCollector();
  const pipeline = new RelayPipeline('fuzz', [collector, checker], opts.thresholds ?? DEFAULT_THRESHOLDS);
  const counters = pipeline.model.counters;
  // Stalls are ordered within one clock segment; a confirmed clock step starts another.
  checker.segment = () => counters.clockJumpsBack + counters.clockJumpsForward;
  const assembler = pipeline.openFile('fuzz.log', BASE_DATE, (rec) => checker.record(rec));
  const budget = opts.lineBudgetMs;
  let slowest = 0;
  // Times each line when a budget is set: the assembler, decoders and model all run inside line().
  const sink: LineSink =
    budget === undefined
      ? assembler
      : {
          line(text, offset, lineNo, raw, escapes) {
            const t0 = performance.now();
            assembler.line(text, offset, lineNo, raw, escapes);
            const ms = performance.now() - t0;
            if (ms > slowest) slowest = ms;
            if (ms > budget)
              throw new InvariantViolation(`line ${lineNo} (${text.length} chars) took ${ms.toFixed(1)} ms`);
          },
          oversize: (offset, lineNo, bytes) => assembler.oversize(offset, lineNo, bytes),
        };
  const splitter = new LineSplitter(sink, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  const step = Math.max(1, opts.chunkBytes ?? data.length);
  for (let at = 0; at < data.length; at += step) splitter.push(data.subarray(at, Math.min(data.length, at + step)));
  splitter.end();
  assembler.flush();
  pipeline.finish();

  const { ingest, model } = pipeline;
  const lines = ingest.lines;
  const counted = lines.decoded + lines.ignored + lines.malformed + lines.oversize;
  if (counted !== splitter.lineNo)
    throw new InvariantViolation(`lines in ${splitter.lineNo} ≠ lines counted ${counted} (${JSON.stringify(lines)})`);
  checker.end();

  const report = buildReport(
    collector,
    [
      {
        path: 'fuzz.log',
        envelope: assembler.envelope?.id ?? null,
        bytes: data.length,
        lines: splitter.lineNo,
        firstTime: checker.first === null ? null : formatTime(checker.first),
        lastTime: checker.last === null ? null : formatTime(checker.last),
        timestampDigits: checker.first === null ? null : checker.minDigits,
      },
    ],
    lines,
    ingest.targetCounts(),
    ingest.problems,
    model.counters,
    model.lastPollEnd,
    model.lastPollReady,
    { files: 1, lines: splitter.lineNo, bytes: data.length, elapsedMs: 0, linesPerSec: 0, maxRssBytes: 0 },
  );
  if (opts.render !== false) {
    formatReport(report);
    JSON.stringify(report);
  }
  return { report, linesRead: splitter.lineNo, slowestLineMs: slowest };
}

/**
 * Checks each observation as the model makes it: durations finite and ≥ 0, instants valid,
 * stalls (slow polls aside) one after another without overlap, inside the log's time range.
 */
class InvariantChecker implements ObservationSink {
  first: LogTime | null = null;
  last: LogTime | null = null;
  minDigits = 9;
  private minSec = Infinity;
  private minNsec = 0;
  private maxSec = -Infinity;
  private maxNsec = 0;
  private prevStall: StallObservation | null = null;
  private prevSegment = 0;
  /** Which clock segment the model is in (changes at each confirmed clock step). */
  segment: () => number = () => 0;

  record(rec: LogRecord): void {
    if (!rec.hasTime) return;
    const t = { sec: rec.sec, nsec: rec.nsec, digits: rec.digits };
    instant('record time', t);
    if (this.first === null) this.first = t;
    this.last = t;
    if (rec.digits < this.minDigits) this.minDigits = rec.digits;
    if (rec.sec < this.minSec || (rec.sec === this.minSec && rec.nsec < this.minNsec)) {
      this.minSec = rec.sec;
      this.minNsec = rec.nsec;
    }
    if (rec.sec > this.maxSec || (rec.sec === this.maxSec && rec.nsec > this.maxNsec)) {
      this.maxSec = rec.sec;
      this.maxNsec = rec.nsec;
    }
  }

  wait(w: WaitObservation): void {
    if (w.start !== null) instant('wait start', w.start);
    instant('wait wake', w.wake);
    instant('wait end', w.end);
    if (w.durationNs !== null) duration('wait', w.durationNs);
    if (w.gapBeforeNs !== null) duration('wait gapBefore', w.gapBeforeNs);
    if (w.sincePollEndNs !== null) duration('wait sincePollEnd', w.sincePollEndNs);
    if (w.reasons.length === 0) throw new InvariantViolation('a wait without a wake reason');
  }

  pollCycle(p: PollCycleObservation): void {
    instant('poll start', p.start);
    instant('poll end', p.end);
    duration('poll cycle', p.durationNs);
  }

  wakeToPoll(d: WakeToPollObservation): void {
    instant('ready at', d.readyAt);
    instant('poll start', d.pollStart);
    duration('wake → poll', d.delayNs);
  }

  stall(s: StallObservation): void {
    instant('stall start', s.start);
    instant('stall end', s.end);
    duration(`${s.kind} stall`, s.durationNs);
    if (s.durationNs !== (s.end.sec - s.start.sec) * NS_PER_SEC + (s.end.nsec - s.start.nsec))
      throw new InvariantViolation(`${s.kind} stall: duration ≠ end − start`);
    if (this.minSec !== Infinity && (this.before(s.start, this.minSec, this.minNsec) || this.after(s.end)))
      throw new InvariantViolation(
        `${s.kind} stall ${formatTime(s.start)} … ${formatTime(s.end)} outside the log's time range`,
      );
    if (s.kind === 'slow_poll') return;
    const segment = this.segment();
    if (segment !== this.prevSegment) {
      this.prevSegment = segment;
      this.prevStall = null;
    }
    const prev = this.prevStall;
    if (prev !== null && (s.start.sec - prev.end.sec) * NS_PER_SEC + (s.start.nsec - prev.end.nsec) < 0)
      throw new InvariantViolation(
        `${s.kind} stall from ${formatTime(s.start)} overlaps the ${prev.kind} stall ending ${formatTime(prev.end)}`,
      );
    this.prevStall = s;
  }

  unfinished(u: UnfinishedObservation): void {
    instant('unfinished since', u.since);
    duration('unfinished followedBy', u.followedByNs);
  }

  end(): void {
    // nothing held back: every check ran as the observations came
  }

  private before(t: LogTime, sec: number, nsec: number): boolean {
    return t.sec < sec || (t.sec === sec && t.nsec < nsec);
  }

  private after(t: LogTime): boolean {
    return t.sec > this.maxSec || (t.sec === this.maxSec && t.nsec > this.maxNsec);
  }
}

function instant(what: string, t: LogTime): void {
  if (!Number.isInteger(t.sec) || !Number.isInteger(t.nsec) || t.nsec < 0 || t.nsec >= NS_PER_SEC)
    throw new InvariantViolation(`${what}: invalid log time ${JSON.stringify(t)}`);
  if (!(t.digits >= 0 && t.digits <= 9)) throw new InvariantViolation(`${what}: digits ${t.digits}`);
}

function duration(what: string, ns: number): void {
  if (!(ns >= 0) || !Number.isFinite(ns)) throw new InvariantViolation(`${what}: duration ${ns} ns`);
}
