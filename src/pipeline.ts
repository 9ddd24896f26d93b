/**
 * One relay's pipeline: records → decoders → reactor model → observation sinks, with the line
 * accounting. `replay` builds one for the files it reads; the live daemon builds one per relay
 * and feeds it lines from its tailers. Exporters attach as ObservationSinks and read the
 * counters (`lines`, `model.counters`, `model.stateAt()`) when they need them.
 */
import { Ingest } from './ingest.js';
import { RecordAssembler, type RecordSink } from './parse/record-assembler.js';
import type { LogRecord } from './parse/record.js';
import { DEFAULT_THRESHOLDS, ReactorModel, type Thresholds } from './reactor/model.js';
import { forwardingSink, type ObservationSink } from './reactor/observations.js';

export class RelayPipeline {
  readonly model: ReactorModel;
  readonly ingest: Ingest;
  /** Log time of the last timed record, unix seconds (NaN before one). */
  lastRecordSec = Number.NaN;
  /**
   * The live daemon's guard: a record whose processing throws (a bug) is handed here and skipped,
   * so one bad record cannot stop the relay's pipeline or the process. Null (replay): it throws.
   */
  onRecordError: ((err: unknown, rec: LogRecord) => void) | null = null;

  constructor(
    readonly relay: string,
    private readonly sinks: readonly ObservationSink[],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
  ) {
    this.model = new ReactorModel(sinks.length === 1 ? sinks[0] : fanOut(sinks), thresholds);
    this.ingest = new Ingest(this.model);
  }

  /**
   * A line reader for one file of this relay (a new file, or the next one after rotation):
   * push its lines into the returned assembler, call `flush()` at the file's end. Its records
   * carry `path` (LogRecord.file), which the model's positions and Ingest's problems take.
   * baseDate: the date for layouts without one (default the file's mtime).
   */
  openFile(path: string, baseDate: Date, tracker?: (rec: LogRecord) => void): RecordAssembler {
    return new RecordAssembler(this.fileSink(path, tracker), baseDate, path);
  }

  /**
   * Where one file's records go (openFile's assembler feeds it; `replay --jobs 2` feeds it the
   * records a parse worker assembled, each carrying its file like the assembler's).
   */
  fileSink(path: string, tracker?: (rec: LogRecord) => void): RecordSink {
    const ingest = this.ingest;
    const sink: RecordSink = {
      record: (rec) => {
        if (rec.hasTime) this.lastRecordSec = rec.sec + rec.nsec / 1e9;
        tracker?.(rec);
        try {
          ingest.record(rec);
        } catch (err) {
          if (this.onRecordError === null) throw err;
          this.onRecordError(err, rec);
        }
      },
      // Lines that are no record: this file's, as the assembler's records are.
      malformed: (line, offset, reason, lines) => ingest.malformed(path, line, offset, reason, lines),
      oversize: (line, offset, bytes) => ingest.oversize(path, line, offset, bytes),
    };
    return sink;
  }

  /** End of input: open waits, polls and readiness become unfinished observations. */
  finish(): void {
    this.model.finish();
    // Sinks that hold observations back (the trace exporter groups them into turns) pass them on.
    for (const s of this.sinks) s.finish?.();
  }
}

/** One sink for many; reads the array at each call, so sinks added later are included. */
export function fanOut(sinks: readonly ObservationSink[]): ObservationSink {
  return forwardingSink((method, arg) => {
    for (const s of sinks) (s[method] as ((arg: unknown) => void) | undefined)?.call(s, arg);
  });
}
