/**
 * Records → decoders → reactor model, with the line accounting every exporter reports:
 * physical lines by outcome (decoded, ignored, malformed, oversize) and by target.
 */
import type { Decoder } from './decode/events.js';
import { DecoderRegistry } from './decode/registry.js';
import type { LogRecord } from './parse/record.js';
import type { ReactorModel } from './reactor/model.js';

export interface TargetCount {
  decoder: string; // '' when no decoder reads the target
  decoded: number;
  ignored: number;
}

export interface LineCounts {
  decoded: number;
  ignored: number;
  malformed: number;
  oversize: number;
}

export interface Problem {
  file: string;
  line: number;
  offset: number;
  reason: string;
}

/** Distinct targets kept apart in the counts; beyond this a log (or an attacker) cannot grow memory. */
const MAX_TARGETS = 1000;
const OTHER_TARGETS = '(other targets)';
/** Malformed/oversize lines kept as examples for the report; all are counted. */
const MAX_PROBLEMS = 20;

interface TargetEntry extends TargetCount {
  decoders: readonly Decoder[];
}

/** Takes a relay's records (RelayPipeline.openFile's sink); each record names its file. */
export class Ingest {
  readonly lines: LineCounts = { decoded: 0, ignored: 0, malformed: 0, oversize: 0 };
  readonly problems: Problem[] = [];
  private readonly targets = new Map<string, TargetEntry>();
  /** Decoder exceptions: a bug on our side, counted and the line treated as malformed. */
  decoderErrors = 0;

  /** registry: decoders keep per-run state, so each run gets its own (the default). */
  constructor(
    private readonly reactor: ReactorModel,
    private readonly registry = new DecoderRegistry(),
  ) {}

  record(rec: LogRecord): void {
    const reactor = this.reactor;
    reactor.advance(rec);
    const entry = this.targets.get(rec.target) ?? this.addTarget(rec.target);
    const decoders = entry.decoders;
    let decoded = false;
    try {
      for (let i = 0; i < decoders.length; i++) {
        if (decoders[i].decode(rec, reactor)) {
          decoded = true;
          break;
        }
      }
      if (!decoded && rec.spans.length !== 0) decoded = this.registry.context.decode(rec, reactor);
    } catch (err) {
      this.decoderErrors++;
      this.lines.malformed += rec.lines;
      this.problem(rec.file, rec.line, rec.offset, `decoder error: ${(err as Error).message}`);
      reactor.afterRecord(rec);
      return;
    }
    if (decoded) {
      entry.decoded += rec.lines;
      this.lines.decoded += rec.lines;
    } else {
      entry.ignored += rec.lines;
      this.lines.ignored += rec.lines;
    }
    reactor.afterRecord(rec);
  }

  /** Physical lines of `file` that are no record (RecordSink.malformed). */
  malformed(file: string, line: number, offset: number, reason: string, lines: number): void {
    this.lines.malformed += lines;
    this.problem(file, line, offset, reason);
  }

  oversize(file: string, line: number, offset: number, bytes: number): void {
    this.lines.oversize++;
    this.problem(file, line, offset, `line of ${bytes} bytes exceeds the line length limit: skipped`);
  }

  /** Lines by target, most first. */
  targetCounts(): Array<[string, TargetCount]> {
    return [...this.targets.entries()]
      .map(([t, e]): [string, TargetCount] => [t, { decoder: e.decoder, decoded: e.decoded, ignored: e.ignored }])
      .filter(([, c]) => c.decoded + c.ignored > 0)
      .sort((a, b) => b[1].decoded + b[1].ignored - (a[1].decoded + a[1].ignored));
  }

  private problem(file: string, line: number, offset: number, reason: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ file, line, offset, reason });
  }

  private addTarget(target: string): TargetEntry {
    let key: string;
    let decoders = this.registry.forTarget(target) ?? [];
    if (this.targets.size >= MAX_TARGETS && decoders.length === 0) {
      key = OTHER_TARGETS;
      decoders = [];
    } else {
      // Copy the key: `target` is a slice of a chunk string, which it would keep alive.
      key = Buffer.from(target, 'utf8').toString('utf8');
    }
    let entry = this.targets.get(key);
    if (entry === undefined) {
      entry = { decoder: decoders.map((d) => d.name).join('+'), decoded: 0, ignored: 0, decoders };
      this.targets.set(key, entry);
    }
    return entry;
  }
}
