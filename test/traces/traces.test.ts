/**
 * Traces end to end: real logs replayed through the pipeline, spans built by the SDK and sent by
 * the OTLP/HTTP exporter to a receiver on loopback that decodes the requests (otlp-receiver.ts).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { ROOT, WAIT_MS } from '../helpers.js';
import { TurnTraceSink, type TraceOptions } from '../../src/export/traces.js';
import { replay } from '../../src/replay.js';
import { generateLogFile } from '../../src/bench/generate.js';
import type {
  ObservationSink,
  PollCycleObservation,
  StallObservation,
  WaitObservation,
  WakeToPollObservation,
} from '../../src/reactor/observations.js';
import { NS_PER_SEC, type LogTime } from '../../src/time.js';

const SAMPLE = path.join(ROOT, 'samples/relay-stall.log');
const receiver = new OtlpReceiver();
// Each traced replay waits up to WAIT_MS for its exporter to drain, and a test runs up to three.
vi.setConfig({ testTimeout: 4 * WAIT_MS, hookTimeout: 2 * WAIT_MS });
let tmp: string;

beforeAll(async () => {
  await receiver.start();
  tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-traces-'));
});
afterAll(async () => {
  await receiver.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The metrics side of the processor: what it forwards, in the order it does. */
class Recorder implements ObservationSink {
  waits: WaitObservation[] = [];
  polls: PollCycleObservation[] = [];
  delays: WakeToPollObservation[] = [];
  stalls: StallObservation[] = [];
  finished = 0;
  wait(w: WaitObservation): void {
    this.waits.push(w);
  }
  pollCycle(p: PollCycleObservation): void {
    this.polls.push(p);
  }
  wakeToPoll(d: WakeToPollObservation): void {
    this.delays.push(d);
  }
  stall(s: StallObservation): void {
    this.stalls.push(s);
  }
  finish(): void {
    this.finished++;
  }
}

let runNo = 0;
/** Replays files with traces on; returns the spans the receiver decoded for this run only. */
async function tracedReplay(files: string[], opts: TraceOptions, relay = `relay-${++runNo}`) {
  const downstream = new Recorder();
  const sink = new TurnTraceSink(
    relay,
    { endpoint: receiver.url, scheduledDelayMs: 20, log: () => undefined, ...opts },
    downstream,
  );
  const from = receiver.spans.length;
  const report = await replay(files, { sinks: [sink], relay });
  await sink.shutdown(WAIT_MS);
  const spans = receiver.spans.slice(from).filter((s) => s.service === relay);
  return { sink, report, downstream, spans };
}

function byTrace(spans: ReceivedSpan[]): Map<string, ReceivedSpan[]> {
  const m = new Map<string, ReceivedSpan[]>();
  for (const s of spans) {
    const list = m.get(s.traceId) ?? [];
    list.push(s);
    m.set(s.traceId, list);
  }
  return m;
}

const ns = (t: LogTime): bigint => BigInt(t.sec) * BigInt(NS_PER_SEC) + BigInt(t.nsec);

const fileLines = new Map<string, string[]>();
/** The timestamp written at the start of line `line` (1-based; env_logger `[2022-04-21T22:30:01.000037Z …`), in unix ns. */
function loggedTimeAt(file: string, line: number): bigint {
  let lines = fileLines.get(file);
  if (lines === undefined) {
    lines = readFileSync(file, 'utf8').split('\n');
    fileLines.set(file, lines);
  }
  const text = lines[line - 1];
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)Z/.exec(text);
  if (!m) throw new Error(`no timestamp at ${file}:${line}: ${text}`);
  const sec = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return sec * 1_000_000_000n + BigInt(m[2].padEnd(9, '0'));
}

describe('every turn kept (relay-stall.log)', () => {
  let run: Awaited<ReturnType<typeof tracedReplay>>;
  beforeAll(async () => {
    run = await tracedReplay([SAMPLE], { keepFraction: 1, maxSpansPerSec: Infinity });
  });

  it('one trace per turn: a reactor.turn root with its epoll.wait and poll cycles as children', () => {
    const { spans, downstream, sink } = run;
    const traces = byTrace(spans);
    expect(downstream.waits.length).toBeGreaterThan(40);
    expect(traces.size).toBe(downstream.waits.length);
    expect(sink.counters.spansExported).toBe(spans.length);
    expect(sink.counters.turnsKept).toBe(traces.size);
    let polls = 0;
    for (const [, list] of traces) {
      const roots = list.filter((s) => s.parentSpanId === '');
      expect(roots).toHaveLength(1);
      expect(roots[0].name).toBe('reactor.turn');
      for (const s of list) {
        if (s === roots[0]) continue;
        expect(s.parentSpanId).toBe(roots[0].spanId);
        expect(['epoll.wait', 'swarm.poll_next', 'reactor.stall']).toContain(s.name);
        // Within the turn — except a starved stall, whose readiness came in an earlier turn (already closed).
        if (s.attributes['pollscope.stall.kind'] !== 'starved')
          expect(s.start >= roots[0].start && s.start <= roots[0].end).toBe(true);
        // The blocked time ends before the next wait starts; a poll cycle may outlast its turn.
        if (s.name === 'epoll.wait') expect(s.end <= roots[0].end).toBe(true);
      }
      expect(list.filter((s) => s.name === 'epoll.wait')).toHaveLength(1);
      polls += list.filter((s) => s.name === 'swarm.poll_next').length;
    }
    // Every poll cycle the model saw is a span of some turn.
    expect(polls).toBe(downstream.polls.length);
  });

  it('start and end times are the logged timestamps, to the microsecond', () => {
    const { spans, downstream } = run;
    const waitSpans = new Map(spans.filter((s) => s.name === 'epoll.wait').map((s) => [s.spanId, s]));
    let checked = 0;
    for (const s of spans) {
      if (s.name !== 'epoll.wait' && s.name !== 'swarm.poll_next') continue;
      // The span starts at the line it names (a wait's start line, a poll cycle's start line).
      expect(s.start).toBe(loggedTimeAt(SAMPLE, s.attributes['log.file.line'] as number));
      checked++;
    }
    expect(checked).toBeGreaterThan(90);
    for (const w of downstream.waits) {
      const span = waitSpans.get(w.exemplar!.spanId)!;
      expect(span.end).toBe(ns(w.wake));
      expect(span.attributes['epoll.fd']).toBe(w.fd);
      expect(span.attributes['epoll.wake.reasons']).toEqual(w.reasons);
    }
    // A turn runs from its wait to where the next one on the fd starts, stretched to cover any
    // child that began before its wait or ended after that (then the root says by how much).
    const roots = spans.filter((s) => s.name === 'reactor.turn').sort((a, b) => (a.start < b.start ? -1 : 1));
    const waitStart = (r: (typeof roots)[number]): bigint =>
      r.start + BigInt((r.attributes['pollscope.turn.wait_start_offset_ns'] as number | undefined) ?? 0);
    let stretched = 0;
    for (const r of roots) {
      const children = spans.filter((s) => s.traceId === r.traceId && s.spanId !== r.spanId);
      for (const c of children) {
        expect(c.start).toBeGreaterThanOrEqual(r.start);
        expect(c.end).toBeLessThanOrEqual(r.end);
      }
      if (waitStart(r) !== r.start) stretched++;
    }
    expect(stretched).toBeGreaterThan(0); // the sample's blocked poll began before its turn's wait
    for (let i = 1; i < roots.length; i++) expect(roots[i - 1].end).toBeGreaterThanOrEqual(waitStart(roots[i]));
    // Log time, not the machine's clock: the sample is from 2022.
    expect(waitStart(roots[0])).toBe(loggedTimeAt(SAMPLE, roots[0].attributes['log.file.line'] as number));
    expect(Number(roots[0].start / 1_000_000_000n)).toBeLessThan(Date.parse('2023-01-01') / 1000);
  });

  it('consecutive turns are linked, not nested', () => {
    const roots = run.spans.filter((s) => s.name === 'reactor.turn').sort((a, b) => (a.start < b.start ? -1 : 1));
    expect(roots[0].links).toHaveLength(0);
    for (let i = 1; i < roots.length; i++) {
      expect(roots[i].links).toHaveLength(1);
      expect(roots[i].links[0]).toMatchObject({ traceId: roots[i - 1].traceId, spanId: roots[i - 1].spanId });
      expect(roots[i].traceId).not.toBe(roots[i - 1].traceId);
    }
  });

  it('stalls: ERROR on the stalled span with kind and duration; a slow poll is marked, not an error', () => {
    const { spans, report, sink } = run;
    expect(report.stalls.counts).toEqual({ slow_poll: 1, blocked_poll: 1, starved: 1, silent: 1 });
    expect(sink.tracedStalls.map((s) => s.kind).sort()).toEqual(['blocked_poll', 'silent', 'slow_poll', 'starved']);
    for (const st of sink.tracedStalls) {
      const span = spans.find((s) => s.spanId === st.spanId && s.traceId === st.traceId)!;
      expect(span).toBeDefined();
      expect(span.attributes['pollscope.stall.kind']).toBe(st.kind);
      expect(span.attributes['pollscope.stall.duration_ns']).toBe(st.durationNs);
      expect(span.start).toBe(ns(st.start));
      expect(span.end - span.start).toBe(BigInt(st.durationNs));
      const root = spans.find((s) => s.traceId === st.traceId && s.parentSpanId === '')!;
      if (st.kind === 'slow_poll') {
        expect(span.name).toBe('swarm.poll_next');
        expect(span.attributes['pollscope.slow_poll']).toBe(true);
        expect(span.status.code).toBe(0);
      } else {
        expect(span.name).toBe(st.kind === 'blocked_poll' ? 'swarm.poll_next' : 'reactor.stall');
        expect(span.status.code).toBe(2); // STATUS_CODE_ERROR
        expect(root.status.code).toBe(2);
      }
      expect(root.attributes['pollscope.keep']).toBe(st.kind === 'slow_poll' ? 'slow_poll' : 'stall');
    }
    // The silence span starts on the last line before it.
    const silent = sink.tracedStalls.find((s) => s.kind === 'silent')!;
    expect(ns(silent.start)).toBe(loggedTimeAt(SAMPLE, silent.pos.line));
  });

  it('resource, attributes and exemplars', () => {
    const { spans, downstream, sink } = run;
    const r = spans[0].resource;
    expect(r['service.name']).toBe(sink.relay);
    expect(r['host.name']).toBeTruthy();
    expect(r['service.instance.id']).toBeTruthy();
    const wait = spans.find((s) => s.name === 'epoll.wait' && Array.isArray(s.attributes['epoll.ready.keys']))!;
    expect(wait.attributes).toMatchObject({ 'thread.name': expect.any(String), 'log.file.line': expect.any(Number) });
    for (const root of spans.filter((s) => s.name === 'reactor.turn'))
      expect(root.attributes['log.file.path']).toBe(SAMPLE);
    expect(wait.attributes['epoll.ready.flags']).toEqual(expect.arrayContaining([expect.stringMatching(/IN|OUT/)]));
    const ids = new Set(spans.map((s) => `${s.traceId}/${s.spanId}`));
    const all = [...downstream.waits, ...downstream.polls, ...downstream.delays, ...downstream.stalls];
    expect(all.length).toBeGreaterThan(100);
    for (const o of all) expect(ids.has(`${o.exemplar!.traceId}/${o.exemplar!.spanId}`)).toBe(true);
    expect(downstream.finished).toBe(1);
  });
});

describe('ids', () => {
  it('are the same when the same log is replayed again (even copied elsewhere), different for another relay', async () => {
    const a = await tracedReplay([SAMPLE], { keepFraction: 1, maxSpansPerSec: Infinity }, 'relay-ids');
    const copy = path.join(tmp, 'renamed.log');
    copyFileSync(SAMPLE, copy);
    const b = await tracedReplay([copy], { keepFraction: 1, maxSpansPerSec: Infinity }, 'relay-ids');
    const key = (s: ReceivedSpan) => `${s.name} ${s.traceId} ${s.spanId} ${s.parentSpanId} ${s.start} ${s.end}`;
    expect(b.spans.length).toBe(a.spans.length);
    expect(new Set(b.spans.map(key))).toEqual(new Set(a.spans.map(key)));
    const c = await tracedReplay([SAMPLE], { keepFraction: 1, maxSpansPerSec: Infinity }, 'relay-other');
    const aIds = new Set(a.spans.map((s) => s.traceId));
    expect(c.spans.some((s) => aIds.has(s.traceId))).toBe(false);
    expect(new Set(a.spans.map((s) => s.spanId)).size).toBe(a.spans.length);
  });
});

describe('volume control on a generated log', () => {
  let file: string;
  let stats: ReturnType<typeof generateLogFile>;
  beforeAll(() => {
    file = path.join(tmp, 'gen.log');
    stats = generateLogFile(file, { envelope: 'e3-micros', lines: 150_000, seed: 7 });
  });

  it('keeps every stall and a fraction of the other turns, decided by trace id; exemplars only on kept turns', async () => {
    const run = await tracedReplay([file], { keepFraction: 0.1, maxSpansPerSec: Infinity });
    const traces = byTrace(run.spans);
    const roots = run.spans.filter((s) => s.name === 'reactor.turn');
    expect(roots.length).toBe(traces.size);
    const turns = run.downstream.waits.length;
    expect(turns).toBeGreaterThan(3_000);
    const sampled = roots.filter((r) => r.attributes['pollscope.keep'] === 'sampled').length;
    const always = roots.length - sampled;
    const fraction = sampled / (turns - always);
    expect(fraction).toBeGreaterThan(0.085);
    expect(fraction).toBeLessThan(0.115);
    // Every stall the model found is in an exported trace with its kind.
    const stallCount = Object.values(run.report.stalls.counts).reduce((a, b) => a + b, 0);
    expect(stallCount).toBeGreaterThan(0);
    expect(run.sink.tracedStalls).toHaveLength(stallCount);
    for (const st of run.sink.tracedStalls) {
      const span = run.spans.find((s) => s.spanId === st.spanId)!;
      expect(span.attributes['pollscope.stall.kind']).toBe(st.kind);
    }
    // Exemplars: present exactly on the observations of exported traces.
    const kept = new Set(traces.keys());
    let withExemplar = 0;
    for (const w of run.downstream.waits) {
      if (w.exemplar) {
        withExemplar++;
        expect(kept.has(w.exemplar.traceId)).toBe(true);
      }
    }
    expect(withExemplar).toBe(roots.length);
    for (const p of run.downstream.polls) if (p.exemplar) expect(kept.has(p.exemplar.traceId)).toBe(true);
    expect(run.downstream.polls.filter((p) => !p.exemplar).length).toBeGreaterThan(0);
    // Counters add up: every span of every turn is either exported or dropped for a reason.
    const c = run.sink.counters;
    expect(c.turnsKept + c.turnsDropped).toBe(turns);
    expect(c.spansExported).toBe(run.spans.length);
    expect(c.spansDropped.sampled_out).toBeGreaterThan(0);

    // The same decisions again: sampling is a function of the deterministic trace id.
    const again = await tracedReplay([file], { keepFraction: 0.1, maxSpansPerSec: Infinity }, run.sink.relay);
    const againRoots = again.spans
      .filter((s) => s.name === 'reactor.turn')
      .map((s) => s.traceId)
      .sort();
    expect(againRoots).toEqual(roots.map((r) => r.traceId).sort());
  });

  it('caps spans per second of log time, and keeps stall turns beyond the cap', async () => {
    const cap = 1; // the generated relay makes ~2 turns (~4 spans) per second of log time
    const run = await tracedReplay([file], { keepFraction: 1, maxSpansPerSec: cap });
    const c = run.sink.counters;
    expect(c.spansDropped.rate_limit).toBeGreaterThan(0);
    const seconds = Math.max(1, stats.lastTime - stats.firstTime);
    const stallTraces = new Set(run.sink.tracedStalls.filter((s) => s.kind !== 'slow_poll').map((s) => s.traceId));
    const ordinary = run.spans.filter((s) => !stallTraces.has(s.traceId)).length;
    // Token bucket: at most one second of burst and one turn above the rate.
    expect(ordinary).toBeLessThanOrEqual(cap * (seconds + 1) + 50);
    expect(ordinary).toBeGreaterThan(cap * seconds * 0.5);
    const stallCount =
      Object.values(run.report.stalls.counts).reduce((a, b) => a + b, 0) - run.report.stalls.counts.slow_poll;
    expect(stallTraces.size).toBeLessThanOrEqual(stallCount);
    for (const id of stallTraces) expect(run.spans.some((s) => s.traceId === id)).toBe(true);
  });

  it('the standard OTLP variables reach the exporter: endpoint, headers, gzip compression', async () => {
    const keys = [
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
      'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION',
    ] as const;
    const saved = keys.map((k) => process.env[k]);
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${receiver.url}/v1/traces`;
    process.env.OTEL_EXPORTER_OTLP_TRACES_HEADERS = 'x-collector-token=t0ken';
    process.env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION = 'gzip';
    try {
      const from = receiver.requestInfo.length;
      const sink = new TurnTraceSink('relay-envvars', {
        keepFraction: 1,
        maxSpansPerSec: Infinity,
        scheduledDelayMs: 20,
      });
      await replay([SAMPLE], { sinks: [sink], relay: 'relay-envvars' });
      await sink.shutdown(WAIT_MS);
      const requests = receiver.requestInfo.slice(from);
      expect(requests.length).toBeGreaterThan(0);
      for (const r of requests)
        expect(r.headers).toMatchObject({ 'x-collector-token': 't0ken', 'content-encoding': 'gzip' });
      expect(receiver.spans.filter((s) => s.service === 'relay-envvars')).toHaveLength(sink.counters.spansExported);
      expect(sink.counters.spansExported).toBeGreaterThan(100);
    } finally {
      keys.forEach((k, i) => {
        if (saved[i] === undefined) delete process.env[k];
        else process.env[k] = saved[i];
      });
    }
  });

  it('OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service instead of the relay', async () => {
    const saved = { n: process.env.OTEL_SERVICE_NAME, a: process.env.OTEL_RESOURCE_ATTRIBUTES };
    process.env.OTEL_SERVICE_NAME = 'relay-from-env';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment=test,team=p2p';
    try {
      const sink = new TurnTraceSink('relay-env', {
        endpoint: receiver.url,
        keepFraction: 1,
        maxSpansPerSec: Infinity,
        scheduledDelayMs: 20,
      });
      await replay([SAMPLE], { sinks: [sink], relay: 'relay-env' });
      await sink.shutdown(WAIT_MS);
      const spans = receiver.spans.filter((s) => s.service === 'relay-from-env');
      expect(spans.length).toBe(sink.counters.spansExported);
      expect(spans[0].resource).toMatchObject({ 'deployment.environment': 'test', team: 'p2p' });
    } finally {
      if (saved.n === undefined) delete process.env.OTEL_SERVICE_NAME;
      else process.env.OTEL_SERVICE_NAME = saved.n;
      if (saved.a === undefined) delete process.env.OTEL_RESOURCE_ATTRIBUTES;
      else process.env.OTEL_RESOURCE_ATTRIBUTES = saved.a;
    }
  });
});

describe('a log with swarm lines and no reactor lines', () => {
  it('a blocked poll is still a trace of its own (no turn to put it in), with the logged times', async () => {
    const L = (t: string, msg: string) => `[2022-04-21T22:${t}Z TRACE libp2p_swarm] ${msg}`;
    const file = path.join(tmp, 'swarm-only.log');
    writeFileSync(
      file,
      [
        L('00:00.000000', 'Swarm<TBehavior>::Stream::poll_next:+'),
        L('00:00.000400', 'Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): false'),
        L('00:00.100000', 'Swarm<TBehavior>::Stream::poll_next:+'),
        L('00:01.600123', 'Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): true'),
      ].join('\n') + '\n',
    );
    const run = await tracedReplay([file], {});
    expect(run.report.stalls.counts.blocked_poll).toBe(1);
    expect(run.spans).toHaveLength(1);
    const [span] = run.spans;
    expect(span).toMatchObject({ name: 'reactor.stall', parentSpanId: '', status: { code: 2 } });
    expect(span.attributes['pollscope.stall.kind']).toBe('blocked_poll');
    expect(span.start).toBe(loggedTimeAt(file, span.attributes['log.file.line'] as number));
    expect(span.end - span.start).toBe(1_500_123_000n);
    expect(run.downstream.stalls[0].exemplar).toEqual({ traceId: span.traceId, spanId: span.spanId });
    expect(run.downstream.polls).toHaveLength(2);
  });
});
