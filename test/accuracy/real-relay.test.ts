/**
 * Accuracy on ground truth from the real crates: the fixtures in test/real-relay/fixtures were
 * written by polling 2.2.0 / async-io 1.11 / async-std 1.12 (relaygen, see its README) with stalls
 * induced on purpose, and each `.truth.json` holds what the program itself measured with the
 * log's clock (SystemTime, µs) — never read from the log. Here pollscope replays each log and
 * must find every induced stall with the right kind, start and duration, and nothing else.
 *
 * `ACCURACY_FIGURES=1 npx vitest run test/accuracy` prints the table of docs/accuracy.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../src/reactor/model.js';
import type {
  ObservationSink,
  StallKind,
  StallObservation,
  WakeToPollObservation,
} from '../../src/reactor/observations.js';
import type { LogTime } from '../../src/time.js';
import { ROOT } from '../helpers.js';

const FIXTURES = path.join(ROOT, 'test/real-relay/fixtures');

interface TruthInterval {
  /** At pollscope's default thresholds; `below_threshold` = a wake → poll delay under `--starved`. */
  kind: StallKind | 'below_threshold';
  what: 'poll' | 'wake_to_poll';
  induced: 'blocked_poll' | 'starvation' | null;
  requested_ms: number;
  start_us: number;
  end_us: number;
  duration_us: number;
}

interface Truth {
  log_format: string;
  polls: number;
  polls_ready: number;
  thresholds_us: { slow_poll: number; blocked_poll: number; starved: number };
  intervals: TruthInterval[];
}

const truthOf = (name: string): Truth =>
  JSON.parse(readFileSync(path.join(FIXTURES, `${name}.truth.json`), 'utf8')) as Truth;

/** Counts taken from the raw file, independently of pollscope's parser. */
function rawCounts(name: string) {
  const lines = readFileSync(path.join(FIXTURES, `${name}.log`), 'utf8').split('\n');
  const count = (needle: string) => lines.reduce((n, l) => n + (l.includes(needle) ? 1 : 0), 0);
  return {
    waitStarts: count('wait: epoll_fd='),
    waitEnds: count('new events: epoll_fd='),
    waitEndsRes0: lines.reduce((n, l) => n + (/new events: epoll_fd=\d+, res=0\b/.test(l) ? 1 : 0), 0),
    pollStarts: count('Swarm<TBehavior>::Stream::poll_next:+'),
    pollEnds: count('Swarm<TBehavior>::Stream::poll_next:-'),
    pollReady: count('poll_next:- result.is_ready(): true'),
    pollPending: count('poll_next:- result.is_ready(): false'),
  };
}

const us = (t: LogTime): number => t.sec * 1_000_000 + Math.floor(t.nsec / 1000);

class Observed implements ObservationSink {
  readonly stalls: StallObservation[] = [];
  readonly delays: WakeToPollObservation[] = [];
  stall(s: StallObservation): void {
    this.stalls.push(s);
  }
  wakeToPoll(d: WakeToPollObservation): void {
    this.delays.push(d);
  }
}

async function run(name: string, thresholds: Thresholds = DEFAULT_THRESHOLDS) {
  const observed = new Observed();
  const report = await replay([path.join(FIXTURES, `${name}.log`)], { thresholds, sinks: [observed] });
  return { report, observed };
}

const START_TOLERANCE_US = 2_000;
const DURATION_TOLERANCE = 0.02;

interface Match {
  truth: TruthInterval;
  found: StallObservation;
  startErrUs: number;
  durationErr: number;
}

/**
 * Pairs each expected interval with the found stall of `kindOf(interval)` nearest in start.
 * A slow poll within 1 ms of the slow-poll threshold may land on either side of it: not
 * required, and a found one there is not a false positive.
 */
function matchStalls(
  expected: TruthInterval[],
  found: StallObservation[],
  kindOf: (t: TruthInterval) => StallKind,
  slowPollUs: number,
) {
  const left = [...found];
  const matches: Match[] = [];
  const missed: TruthInterval[] = [];
  for (const t of expected) {
    const kind = kindOf(t);
    let best = -1;
    for (let i = 0; i < left.length; i++) {
      if (left[i].kind !== kind) continue;
      if (best < 0 || Math.abs(us(left[i].start) - t.start_us) < Math.abs(us(left[best].start) - t.start_us)) best = i;
    }
    if (best >= 0 && Math.abs(us(left[best].start) - t.start_us) < 1_000_000) {
      const f = left.splice(best, 1)[0];
      matches.push({
        truth: t,
        found: f,
        startErrUs: us(f.start) - t.start_us,
        durationErr: (f.durationNs / 1000 - t.duration_us) / t.duration_us,
      });
    } else if (!(kind === 'slow_poll' && Math.abs(t.duration_us - slowPollUs) < 1_000)) {
      missed.push(t);
    }
  }
  const falsePositives = left.filter(
    (s) => !(s.kind === 'slow_poll' && Math.abs(s.durationNs / 1000 - slowPollUs) < 1_000),
  );
  return { matches, missed, falsePositives };
}

const describeStall = (s: StallObservation) =>
  `${s.kind} at ${us(s.start)} for ${s.durationNs / 1e6} ms (${s.pos.file}:${s.pos.line})`;

const MICROS_FIXTURES = ['mixed.env-micros', 'stalls.env-micros', 'stalls.tracing-full'];
const figures: string[] = [];
const details: string[] = [];

describe.each(MICROS_FIXTURES)('%s (µs timestamps)', (name) => {
  const truth = truthOf(name);
  const raw = rawCounts(name);

  it("counts: waits, wakeups and poll cycles equal their lines; poll cycles equal the program's own count", async () => {
    const { report } = await run(name);
    expect(report.lines.malformed).toBe(0);
    // Every `new events` line ends one wait; every wait's `wait:` line is in the log.
    expect(report.waits.count).toBe(raw.waitEnds);
    expect(report.waits.startUnknown).toBe(0);
    const openWaits = report.unfinished.filter((u) => u.what === 'wait').length;
    expect(raw.waitStarts).toBe(raw.waitEnds + openWaits);
    // polling 2.x returns no keys: one wake reason per wait; `res=0` is never I/O.
    const w = report.wakeups;
    expect(w.io + w.notify + w.timeout + w.spurious + w.unknown).toBe(raw.waitEnds);
    expect(w.timeout + w.spurious).toBe(raw.waitEndsRes0);
    expect(w.unknown).toBe(0);
    expect(report.pollCycles.count).toBe(raw.pollEnds);
    expect(raw.pollStarts).toBe(raw.pollEnds);
    expect(report.pollCycles.ready).toBe(raw.pollReady);
    expect(report.pollCycles.pending).toBe(raw.pollPending);
    expect(report.pollCycles.count).toBe(truth.polls);
    expect(report.pollCycles.ready).toBe(truth.polls_ready);
  });

  it('default thresholds: every stall in the truth found with its kind, start within 2 ms, duration within 2 %; nothing else', async () => {
    const { report, observed } = await run(name);
    const expected = truth.intervals.filter((t) => t.kind !== 'below_threshold');
    const { matches, missed, falsePositives } = matchStalls(
      expected,
      observed.stalls,
      (t) => t.kind as StallKind,
      truth.thresholds_us.slow_poll,
    );
    expect(missed).toEqual([]);
    expect(falsePositives.map(describeStall)).toEqual([]);
    for (const m of matches) {
      expect(Math.abs(m.startErrUs), `${m.truth.kind} start`).toBeLessThanOrEqual(START_TOLERANCE_US);
      expect(Math.abs(m.durationErr), `${m.truth.kind} duration`).toBeLessThanOrEqual(DURATION_TOLERANCE);
    }
    expect(report.stalls.counts.silent).toBe(0);
    // Slow polls that are not induced (large transfers) stay slow polls, never stalls.
    for (const m of matches) if (m.truth.induced === null) expect(m.found.kind).toBe('slow_poll');

    // Starvations shorter than --starved are no stall, but their wake → poll delay is measured.
    for (const t of truth.intervals.filter((i) => i.kind === 'below_threshold')) {
      const d = observed.delays.find((x) => Math.abs(us(x.readyAt) - t.start_us) <= START_TOLERANCE_US);
      expect(d, `wake → poll delay at ${t.start_us}`).toBeDefined();
      expect(Math.abs(d!.delayNs / 1000 - t.duration_us) / t.duration_us).toBeLessThanOrEqual(DURATION_TOLERANCE);
    }

    if (process.env.ACCURACY_FIGURES) {
      figures.push(figureRow(name, truth, matches, missed.length, falsePositives.length));
      for (const m of matches) {
        details.push(
          `| ${name} | ${m.truth.induced ?? 'none'} ${m.truth.requested_ms || ''} | ${m.truth.kind} | ${m.found.kind} | ${m.truth.duration_us} | ${Math.round(m.found.durationNs / 1000)} | ${m.startErrUs} | ${(m.durationErr * 100).toFixed(4)} % |`,
        );
      }
    }
  });

  it('thresholds at 250 ms: every induced stall, 0.3 s to 3 s, is found as its kind', async () => {
    const thresholds = { ...DEFAULT_THRESHOLDS, blockedPollNs: 250e6, starvedNs: 250e6 };
    const { observed } = await run(name, thresholds);
    const induced = truth.intervals.filter((t) => t.induced !== null);
    const kindOf = (t: TruthInterval): StallKind =>
      t.induced === 'blocked_poll' ? 'blocked_poll' : t.induced === 'starvation' ? 'starved' : 'slow_poll';
    const { matches, missed } = matchStalls(induced, observed.stalls, kindOf, truth.thresholds_us.slow_poll);
    expect(missed).toEqual([]);
    expect(matches).toHaveLength(induced.length);
    for (const m of matches) {
      expect(Math.abs(m.startErrUs)).toBeLessThanOrEqual(START_TOLERANCE_US);
      expect(Math.abs(m.durationErr)).toBeLessThanOrEqual(DURATION_TOLERANCE);
    }
    // Induced ones are all there is at these thresholds too (transfers' slow polls stay below 250 ms).
    expect(observed.stalls.filter((s) => s.kind !== 'slow_poll')).toHaveLength(induced.length);
  });
});

describe('stalls.env-secs (env_logger default whole-second timestamps)', () => {
  const name = 'stalls.env-secs';
  const truth = truthOf(name);
  const raw = rawCounts(name);

  it('still counts every wait and poll cycle, and says that precision is insufficient', async () => {
    const { report } = await run(name);
    expect(report.waits.count).toBe(raw.waitEnds);
    expect(report.pollCycles.count).toBe(raw.pollEnds);
    expect(report.pollCycles.count).toBe(truth.polls);
    expect(report.files[0].timestampDigits).toBe(0);
    expect(report.warnings.join('\n')).toMatch(
      /whole-second precision: durations under 1 s read as 0 and every stall duration is ±1 s/,
    );
    // Most waits are shorter than the resolution and flagged so.
    expect(report.waits.belowTimestampResolution).toBeGreaterThan(report.waits.count / 2);
  });

  it('finds exactly the stalls the stamps prove: every one ≥ 2 s, each within a second of the truth, none invented', async () => {
    const { observed } = await run(name);
    const stalls = truth.intervals.filter((t) => t.kind !== 'below_threshold' && t.kind !== 'slow_poll');
    // A 1 s threshold needs a 2 s difference of whole-second stamps: stalls ≥ 2 s are always
    // proven (here the 2 s and 3 s blocked polls and the 2.98 s starvation).
    const provable = stalls.filter((t) => t.duration_us >= 2_000_000);
    expect(provable.length).toBeGreaterThanOrEqual(3);
    for (const t of provable) {
      const f = observed.stalls.find((s) => s.kind === t.kind && Math.abs(us(s.start) - t.start_us) < 1_000_000);
      expect(f, `${t.kind} of ${t.duration_us} µs at ${t.start_us}`).toBeDefined();
    }
    for (const s of observed.stalls) {
      expect(s.kind).not.toBe('slow_poll'); // durations under 1 s read as 0
      const t = stalls.find((x) => x.kind === s.kind && Math.abs(us(s.start) - x.start_us) < 1_000_000);
      expect(t, `found ${describeStall(s)}`).toBeDefined();
      expect(Math.abs(s.durationNs / 1000 - t!.duration_us)).toBeLessThanOrEqual(1_000_000);
      expect(us(s.start)).toBe(Math.floor(t!.start_us / 1e6) * 1e6); // the stamp is the second it began in
    }
    if (process.env.ACCURACY_FIGURES) {
      const found = stalls.filter((t) =>
        observed.stalls.some((s) => s.kind === t.kind && Math.abs(us(s.start) - t.start_us) < 1_000_000),
      );
      figures.push(
        `| ${name} | ${stalls.length} (${kinds(stalls)}) | ${found.length} (${kinds(found)}) | within 1 s (second of start) | ±1 s | 0 |`,
      );
    }
  });
});

function kinds(ts: Array<{ kind: string }>): string {
  const n = new Map<string, number>();
  for (const t of ts) n.set(t.kind, (n.get(t.kind) ?? 0) + 1);
  return [...n].map(([k, v]) => `${k} ${v}`).join(', ') || '—';
}

function figureRow(name: string, truth: Truth, matches: Match[], missed: number, fp: number): string {
  const expected = truth.intervals.filter((t) => t.kind !== 'below_threshold');
  const maxStart = Math.max(0, ...matches.map((m) => Math.abs(m.startErrUs)));
  const maxDur = Math.max(0, ...matches.map((m) => Math.abs(m.durationErr)));
  const maxDurUs = Math.max(0, ...matches.map((m) => Math.abs(m.found.durationNs / 1000 - m.truth.duration_us)));
  return `| ${name} | ${expected.length} (${kinds(expected)}) | ${matches.length} (${kinds(matches.map((m) => m.found))}), missed ${missed} | ≤ ${maxStart} µs | ≤ ${maxDurUs} µs (${(maxDur * 100).toFixed(3)} %) | ${fp} |`;
}

if (process.env.ACCURACY_FIGURES) {
  describe('figures', () => {
    it('prints the table', () => {
      console.log(
        [
          '| fixture | stalls in truth | found | start error | duration error | false positives |',
          '|---|---|---|---|---|---|',
          ...figures,
        ].join('\n'),
      );
      console.log(
        [
          '| fixture | induced (ms) | truth kind | found kind | truth µs | found µs | start error µs | duration error |',
          '|---|---|---|---|---|---|---|---|',
          ...details,
        ].join('\n'),
      );
    });
  });
}
