/**
 * The reactor model's log clock: log time as the lines give it (never the wall clock), with the
 * rules for lines stamped out of order, outliers and clock steps (docs/reactor-model.md). What a
 * step cuts and what a timed gap means (a silence, a quiet stretch) is the model's: it is called
 * back for both.
 */
import type { LogRecord } from '../parse/record.js';
import { addNs, logTime, NS_PER_SEC, type LogTime } from '../time.js';
import type { ModelCounters } from './model.js';
import type { SourcePos } from './observations.js';

/** Lines stamped before they are written go back by µs, at most ms; beyond this it is a clock step. */
const MAX_INVERSION_NS = 1_000_000_000;
/**
 * A forward step between two lines longer than this is the clock (or a joined log) jumping, not a
 * silence: nothing is measured across it.
 */
export const MAX_FORWARD_STEP_NS = 86_400 * NS_PER_SEC;

/** The clock stepped to `at`; `firstTimed`: the first timed line after lines without a time. */
export type ClockCut = (at: LogTime, firstTimed: boolean) => void;
/** A plausible forward gap (≥ 0, ≥ the thresholds' silentNs) from `now` to rec's time, before `now` moves to it. */
export type TimedGap = (rec: LogRecord, gapNs: number) => void;

export class LogClock {
  /**
   * Latest log time seen (lines may go back in time by µs across threads: never sort). Kept as
   * numbers: set per line. Read by the model; written only here.
   */
  hasNow = false;
  nowSec = 0;
  nowNsec = 0;
  nowDigits = 0;
  /** Log time between the previous line and the current one (null before the second timed line). */
  gapBeforeNs: number | null = null;
  /** Position of the previous record (a silence is placed at the line before it). */
  private prevFile = '';
  private prevLine = 0;
  private prevOffset = 0;
  /** The current record's own time is used (it has one and it is not a clock jump); else it counts as `now`. */
  recTimed = false;
  /**
   * First trusted time of the current clock segment (the log's start, or the line a confirmed clock
   * step moved to): span timings (`time.busy`) never reach back before it.
   */
  private segSec = 0;
  private segNsec = 0;
  /** A line outside the plausible window of `now`: an outlier or the first line after a clock step. */
  private hasJump = false;
  private jumpSec = 0;
  private jumpNsec = 0;
  private jumpDigits = 0;
  private jumpLine = 0;
  private jumpFile = '';
  /** Events came from lines without a time before any line had one (they carry time 0). */
  private untimedEvents = false;

  constructor(
    private readonly counters: ModelCounters,
    /** What a confirmed step cuts (the model's open waits, polls, readiness). */
    private readonly cut: ClockCut,
    /** What a timed gap means (the model's silence and quiet candidates). */
    private readonly timedGapSeen: TimedGap,
    /** A line outside the plausible window: no silence ends at it. */
    private readonly untrusted: () => void,
    /**
     * The model's thresholds: it acts on a gap (a silence, a quiet stretch) only from silentNs on,
     * so shorter gaps (nearly every line's) are not handed over. Read per line: a reload changes it in place.
     */
    private readonly thresholds: { readonly silentNs: number } = { silentNs: -Infinity },
  ) {}

  /** Called for every record, decoded or not, before its events: advances log time. */
  advance(rec: LogRecord): void {
    // Per line: numbers only; a LogTime is made when something needs to keep the time.
    if (!rec.hasTime) {
      this.recTimed = false;
      return;
    }
    if (!this.hasNow) {
      this.hasNow = true;
      this.recTimed = true;
      this.setNow(rec);
      this.segSec = rec.sec;
      this.segNsec = rec.nsec;
      // Lines without a time before this one were placed at 1970: nothing is measured from them.
      if (this.untimedEvents) this.cut(this.nowTime(), true);
      return;
    }
    const gap = (rec.sec - this.nowSec) * NS_PER_SEC + (rec.nsec - this.nowNsec);
    // `!(a && b)`: a NaN gap (no valid time) is outside the window too.
    if (!(gap >= -MAX_INVERSION_NS && gap <= MAX_FORWARD_STEP_NS)) {
      this.clockStep(rec);
      return;
    }
    this.recTimed = true;
    if (this.hasJump) {
      // The line before was far from both neighbours: its time was wrong, not the clock.
      this.hasJump = false;
      this.counters.clockOutliers++;
    }
    this.timedGap(rec, gap);
  }

  /** A plausible step (−1 s … +1 day) from `now` to rec's time: inversions and silences. */
  private timedGap(rec: LogRecord, gap: number): void {
    if (gap < 0) {
      this.gapBeforeNs = 0;
      this.counters.timeInversions++;
      if (-gap > this.counters.maxInversionNs) this.counters.maxInversionNs = -gap;
      return;
    }
    this.gapBeforeNs = gap;
    if (gap >= this.thresholds.silentNs) this.timedGapSeen(rec, gap);
    this.setNow(rec);
  }

  /**
   * rec's time is outside the plausible window of `now` (> 1 s back, > 1 day ahead). One line
   * cannot tell an outlier from a clock step, the next one can: until then the line counts as
   * logged at `now`. A second line near the first confirms a step: what was open is not measured
   * across it (the model's cut) and log time restarts there.
   */
  private clockStep(rec: LogRecord): void {
    this.recTimed = false;
    this.gapBeforeNs = null;
    this.untrusted();
    if (this.hasJump) {
      const fromJump = (rec.sec - this.jumpSec) * NS_PER_SEC + (rec.nsec - this.jumpNsec);
      if (fromJump >= -MAX_INVERSION_NS && fromJump <= MAX_FORWARD_STEP_NS) {
        this.hasJump = false;
        if (this.jumpSec < this.nowSec) this.counters.clockJumpsBack++;
        else this.counters.clockJumpsForward++;
        const at = logTime(this.jumpSec, this.jumpNsec, this.jumpDigits);
        this.cut(at, false);
        this.nowSec = at.sec;
        this.nowNsec = at.nsec;
        this.nowDigits = at.digits;
        this.segSec = at.sec;
        this.segNsec = at.nsec;
        this.recTimed = true;
        this.timedGap(rec, fromJump);
        return;
      }
      // Far from `now` and from the line before: that one was an outlier; this one may be a step.
      this.counters.clockOutliers++;
    }
    this.hasJump = true;
    this.jumpSec = rec.sec;
    this.jumpNsec = rec.nsec;
    this.jumpDigits = rec.digits;
    this.jumpLine = rec.line;
    this.jumpFile = rec.file;
  }

  /** Was the pending clock-jump line the one at `pos`? (Its events were applied at the time before it.) */
  isJumpLine(pos: SourcePos): boolean {
    return pos.line === this.jumpLine && pos.file === this.jumpFile;
  }

  /**
   * Start of a span whose own timing says it lasted `totalNs` up to `end` (FmtSpan close), never
   * before the clock segment's first line: the log cannot vouch for time it does not cover. With
   * no timestamps at all (segment unknown) a span is taken up to a day.
   */
  spanStart(end: LogTime, totalNs: number): LogTime {
    const covered = this.hasNow
      ? Math.max(0, (end.sec - this.segSec) * NS_PER_SEC + (end.nsec - this.segNsec))
      : MAX_FORWARD_STEP_NS;
    return addNs(end, -(totalNs > covered ? covered : totalNs));
  }

  private setNow(rec: LogRecord): void {
    this.nowSec = rec.sec;
    this.nowNsec = rec.nsec;
    this.nowDigits = rec.digits;
  }

  nowTime(): LogTime {
    return logTime(this.nowSec, this.nowNsec, this.nowDigits);
  }

  /** An event of the current record: called for every event, whether or not it needs its time. */
  eventSeen(): void {
    if (!this.hasNow) this.untimedEvents = true;
  }

  /** The time the current record's events happen at: its own, or `now` when its time is missing or not trusted. */
  eventTime(rec: LogRecord): LogTime {
    return this.recTimed ? logTime(rec.sec, rec.nsec, rec.digits) : this.nowTime();
  }

  /** After a record's events: it becomes the line before the next one. */
  recordDone(rec: LogRecord): void {
    this.prevFile = rec.file;
    this.prevLine = rec.line;
    this.prevOffset = rec.offset;
  }

  /** Where the line before the current one is (a silence is placed there). */
  prevPos(): SourcePos {
    return { file: this.prevFile, line: this.prevLine, offset: this.prevOffset };
  }

  /** End of input: the last timed line was far from the one before and nothing followed to confirm a step. */
  finish(): void {
    if (this.hasJump) {
      this.hasJump = false;
      this.counters.clockOutliers++;
    }
  }
}
