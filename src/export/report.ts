/**
 * The replay report: collects observations into bounded summaries and renders them as text or
 * as one JSON document. Everything here is log time; `run` holds the reader's own figures.
 */
import { NOTIFY_KEY } from '../decode/events.js';
import type { LineCounts, Problem, TargetCount } from '../ingest.js';
import type { ModelCounters } from '../reactor/model.js';
import { formatTimeout } from '../reactor/model.js';
import { formatEpollFlags, READY_FLAG_LABELS } from '../reactor/flags.js';
import type {
  ConnectionObservation,
  QuietObservation,
  SpanPollObservation,
  ObservationSink,
  PollCycleObservation,
  StallKind,
  StallObservation,
  UnfinishedObservation,
  WaitObservation,
  WakeReason,
  WakeToPollObservation,
} from '../reactor/observations.js';
import { formatDuration, formatTime, type LogTime } from '../time.js';
import { DurationDistribution, type DistributionSummary } from './quantiles.js';
import { ConnectionsCollector, type ConnectionsReport } from './connections-report.js';

/** Waits listed one by one when there are at most this many; otherwise only the longest. */
export const LIST_ALL_WAITS = 20;
const LONGEST_WAITS = 5;
/** Stalls kept in detail (all are counted). */
const MAX_STALLS = 10_000;

export class ReportCollector implements ObservationSink {
  readonly waitDurations = new DurationDistribution();
  readonly pollDurations = new DurationDistribution();
  readonly wakeToPollDelays = new DurationDistribution();
  waits = 0;
  waitsStartUnknown = 0;
  waitsImprecise = 0;
  readonly wakeups: Record<WakeReason, number> = { io: 0, notify: 0, timeout: 0, spurious: 0, unknown: 0 };
  readonly readyFlags: Record<string, number> = Object.fromEntries(READY_FLAG_LABELS.map(([, l]) => [l, 0]));
  readonly waitsByFd = new Map<number, number>();
  polls = 0;
  readonly pollsByResult = { ready: 0, pending: 0, unknown: 0 };
  readonly stalls: StallObservation[] = [];
  readonly stallCounts: Record<StallKind, number> = { slow_poll: 0, blocked_poll: 0, starved: 0, silent: 0 };
  readonly open: UnfinishedObservation[] = [];
  /** Span-based relays: poll spans and connections. */
  readonly connections = new ConnectionsCollector();
  private firstWaits: WaitObservation[] = [];
  private longestWaits: WaitObservation[] = [];

  wait(w: WaitObservation): void {
    this.waits++;
    this.waitsByFd.set(w.fd, (this.waitsByFd.get(w.fd) ?? 0) + 1);
    if (w.durationNs !== null) this.waitDurations.add(w.durationNs);
    else this.waitsStartUnknown++;
    if (w.imprecise) this.waitsImprecise++;
    for (const r of w.reasons) this.wakeups[r]++;
    for (const e of w.ready) {
      for (const [bit, label] of READY_FLAG_LABELS) if (e.flags & bit) this.readyFlags[label]++;
    }
    if (this.firstWaits.length <= LIST_ALL_WAITS) this.firstWaits.push(w);
    if (w.durationNs !== null) {
      const l = this.longestWaits;
      if (l.length < LONGEST_WAITS || w.durationNs > (l[l.length - 1].durationNs ?? 0)) {
        l.push(w);
        l.sort((a, b) => (b.durationNs ?? 0) - (a.durationNs ?? 0));
        if (l.length > LONGEST_WAITS) l.pop();
      }
    }
  }

  pollCycle(p: PollCycleObservation): void {
    this.polls++;
    this.pollDurations.add(p.durationNs);
    if (p.ready === true) this.pollsByResult.ready++;
    else if (p.ready === false) this.pollsByResult.pending++;
    else this.pollsByResult.unknown++;
  }

  wakeToPoll(d: WakeToPollObservation): void {
    this.wakeToPollDelays.add(d.delayNs);
  }

  stall(s: StallObservation): void {
    this.stallCounts[s.kind]++;
    if (this.stalls.length < MAX_STALLS) this.stalls.push(s);
  }

  unfinished(u: UnfinishedObservation): void {
    this.open.push(u);
  }

  spanPoll(p: SpanPollObservation): void {
    this.connections.spanPoll(p);
  }

  connection(c: ConnectionObservation): void {
    this.connections.connection(c);
  }

  quiet(q: QuietObservation): void {
    this.connections.quiet(q);
  }

  /** The waits worth showing one by one. */
  notableWaits(): WaitObservation[] {
    return this.waits <= LIST_ALL_WAITS ? this.firstWaits : this.longestWaits;
  }
}

export interface FileSummary {
  path: string;
  envelope: string | null;
  bytes: number;
  lines: number;
  firstTime: string | null;
  lastTime: string | null;
  /** Fraction digits of the timestamps (the coarsest seen), null when the lines carry no time. */
  timestampDigits: number | null;
}

export interface ReplayReport {
  run: { files: number; lines: number; bytes: number; elapsedMs: number; linesPerSec: number; maxRssBytes: number };
  files: FileSummary[];
  lines: LineCounts & { byTarget: Record<string, TargetCount> };
  problems: Problem[];
  waits: {
    count: number;
    startUnknown: number;
    belowTimestampResolution: number;
    latency: DistributionSummary | null;
    byFd: Record<string, number>;
    notable: WaitDetail[];
  };
  wakeups: Record<WakeReason, number>;
  readyEvents: Record<string, number>;
  pollCycles: {
    count: number;
    ready: number;
    pending: number;
    unknown: number;
    duration: DistributionSummary | null;
    lastEnd: string | null;
    lastEndReady: boolean | null;
  };
  wakeToPoll: DistributionSummary | null;
  /** Span-based relays (rust-libp2p ≥ 0.53): null when the log showed no connection or poll span. */
  connections: ConnectionsReport | null;
  stalls: { counts: Record<StallKind, number>; list: StallDetail[] };
  unfinished: UnfinishedDetail[];
  model: ModelCounters;
  warnings: string[];
}

export interface WaitDetail {
  fd: number;
  start: string | null;
  wake: string;
  end: string;
  durationNs: number | null;
  gapBeforeNs: number | null;
  sincePollEndNs: number | null;
  timeout: string;
  res: number | null;
  reasons: WakeReason[];
  ready: Array<{ key: string; fd: number | null; flags: string; mask: string }>;
  notifierRearm: { fd: number | null; flags: string | null; mask: string | null } | null;
  thread: string;
  at: string;
}

export interface StallDetail {
  kind: StallKind;
  start: string;
  end: string;
  durationNs: number;
  at: string;
  detail: string;
}

export interface UnfinishedDetail {
  what: string;
  since: string;
  followedByNs: number;
  at: string;
  detail: string;
}

export function waitDetail(w: WaitObservation): WaitDetail {
  return {
    fd: w.fd,
    start: w.start && formatTime(w.start),
    wake: formatTime(w.wake),
    end: formatTime(w.end),
    durationNs: w.durationNs,
    gapBeforeNs: w.gapBeforeNs,
    sincePollEndNs: w.sincePollEndNs,
    timeout: formatTimeout(w.timeoutNs),
    res: w.res,
    reasons: w.reasons,
    ready: w.ready.map((r) => ({
      key: r.key === NOTIFY_KEY ? 'NOTIFY_KEY' : String(r.key),
      fd: r.fd,
      flags: formatEpollFlags(r.flags),
      mask: hex(r.flags),
    })),
    notifierRearm: w.notifierRearm && {
      fd: w.notifierRearm.fd,
      flags: w.notifierRearm.flags === null ? null : formatEpollFlags(w.notifierRearm.flags),
      mask: w.notifierRearm.flags === null ? null : hex(w.notifierRearm.flags),
    },
    thread: w.thread,
    at: `${w.pos.file}:${w.pos.line}`,
  };
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

export function buildReport(
  c: ReportCollector,
  files: FileSummary[],
  lines: LineCounts,
  byTarget: Array<[string, TargetCount]>,
  problems: Problem[],
  model: ModelCounters,
  lastPollEnd: LogTime | null,
  lastPollReady: boolean | null,
  run: ReplayReport['run'],
): ReplayReport {
  const warnings: string[] = [];
  for (const f of files) {
    if (f.timestampDigits === 0) {
      warnings.push(
        `${f.path}: timestamps have whole-second precision: durations under 1 s read as 0 and every stall duration is ±1 s; log with microseconds (env_logger format_timestamp_micros()) for timing`,
      );
    } else if (f.timestampDigits !== null && f.timestampDigits < 6) {
      warnings.push(
        `${f.path}: timestamps have ${f.timestampDigits}-digit fractions: durations under ${formatDuration(10 ** (9 - f.timestampDigits))} are not measurable`,
      );
    }
    if (f.envelope === 'wezterm')
      warnings.push(
        `${f.path}: the log has no dates; the date is taken from the file's modification time (--date overrides)`,
      );
  }
  if (model.timeInversions > 0) {
    warnings.push(
      `${model.timeInversions} line(s) carry a time earlier than a line before them (up to ${formatDuration(model.maxInversionNs)}): threads stamp lines before writing them; processed in file order`,
    );
  }
  return {
    run,
    files,
    lines: { ...lines, byTarget: Object.fromEntries(byTarget) },
    problems,
    waits: {
      count: c.waits,
      startUnknown: c.waitsStartUnknown,
      belowTimestampResolution: c.waitsImprecise,
      latency: c.waitDurations.summary(),
      byFd: Object.fromEntries([...c.waitsByFd].map(([fd, n]) => [String(fd), n])),
      notable: c.notableWaits().map(waitDetail),
    },
    wakeups: { ...c.wakeups },
    readyEvents: { ...c.readyFlags },
    pollCycles: {
      count: c.polls,
      ...c.pollsByResult,
      duration: c.pollDurations.summary(),
      lastEnd: lastPollEnd && formatTime(lastPollEnd),
      lastEndReady: lastPollReady,
    },
    wakeToPoll: c.wakeToPollDelays.summary(),
    connections: c.connections.summary(),
    stalls: {
      counts: { ...c.stallCounts },
      list: c.stalls.map((s) => ({
        kind: s.kind,
        start: formatTime(s.start),
        end: formatTime(s.end),
        durationNs: s.durationNs,
        at: `${s.pos.file}:${s.pos.line}`,
        detail: s.detail,
      })),
    },
    unfinished: c.open.map((u) => ({
      what: u.what,
      since: formatTime(u.since),
      followedByNs: u.followedByNs,
      at: `${u.pos.file}:${u.pos.line}`,
      detail: u.detail,
    })),
    model,
    warnings,
  };
}

// The terminal text lives in its own module; re-exported so callers keep one import.
export { formatReport } from './report-text.js';
