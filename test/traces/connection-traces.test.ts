/**
 * Traces of a span-based relay (rust-libp2p ≥ 0.53 on tokio): the tokio fixture replayed with
 * traces on, the spans decoded by a loopback OTLP receiver. One trace per connection, its root
 * covering established → closed, its slow Connection::poll spans inside; ids stable across runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { ROOT } from '../helpers.js';
import { TurnTraceSink } from '../../src/export/traces.js';
import { replay } from '../../src/replay.js';
import type { ObservationSink, SpanPollObservation } from '../../src/reactor/observations.js';
import { DEFAULT_THRESHOLDS } from '../../src/reactor/model.js';

const LOG = path.join(ROOT, 'test/real-relay-tokio/fixtures/stalls.full.log');
const TRUTH = (await import('../real-relay-tokio/fixtures/stalls.full.truth.json', { with: { type: 'json' } }))
  .default as { connections: Array<{ id: number; peer: string; remote_addr: string }> };
const receiver = new OtlpReceiver();
beforeAll(() => receiver.start());
afterAll(() => receiver.stop());

class Polls implements ObservationSink {
  readonly slow: SpanPollObservation[] = [];
  spanPoll(p: SpanPollObservation): void {
    if (p.slow && p.span === 'connection') this.slow.push(p);
  }
}

let runNo = 0;
async function traced(relay = `tokio-${++runNo}`) {
  const downstream = new Polls();
  const sink = new TurnTraceSink(
    relay,
    { endpoint: receiver.url, scheduledDelayMs: 20, log: () => undefined },
    downstream,
  );
  const from = receiver.spans.length;
  // 1 ms: the induced slow polls (the default 50 µs would make half of all polls slow here).
  await replay([LOG], { sinks: [sink], relay, thresholds: { ...DEFAULT_THRESHOLDS, slowConnectionPollNs: 1_000_000 } });
  await sink.shutdown(10_000);
  return { spans: receiver.spans.slice(from).filter((s) => s.service === relay), downstream, sink };
}

describe('connection traces', () => {
  it('one trace per connection with a slow poll: root with peer, address and id covering its slow polls', async () => {
    const { spans, downstream } = await traced();
    const roots = spans.filter((s) => s.name === 'libp2p.connection');
    const polls = spans.filter((s) => s.name === 'libp2p.connection.poll');
    expect(polls).toHaveLength(downstream.slow.length);
    expect(polls.length).toBeGreaterThanOrEqual(6);
    for (const p of polls) {
      const root = roots.find((r) => r.traceId === p.traceId)!;
      expect(root, 'every poll span has its connection root').toBeDefined();
      expect(p.parentSpanId).toBe(root.spanId);
      expect(p.start).toBeGreaterThanOrEqual(root.start);
      expect(p.end).toBeLessThanOrEqual(root.end);
      expect(p.attributes['libp2p.connection.id']).toBe(root.attributes['libp2p.connection.id']);
      const truth = TRUTH.connections.find((c) => String(c.id) === root.attributes['libp2p.connection.id'])!;
      expect(root.attributes['libp2p.peer.id']).toBe(truth.peer);
      expect(root.attributes['libp2p.remote_addr']).toBe(truth.remote_addr);
    }
    // The metrics side got each slow poll with the exemplar of the span that shows it.
    for (const o of downstream.slow) {
      expect(polls.some((p) => p.traceId === o.exemplar?.traceId && p.spanId === o.exemplar?.spanId)).toBe(true);
    }
  });

  it('ids are deterministic: a second replay exports the same trace and span ids', async () => {
    const a = await traced('tokio-twice');
    const b = await traced('tokio-twice');
    expect(a.spans.length).toBeGreaterThan(0);
    const ids = (spans: ReceivedSpan[]) => spans.map((s) => `${s.name} ${s.traceId} ${s.spanId}`).sort();
    expect(ids(b.spans)).toEqual(ids(a.spans));
  });
});
