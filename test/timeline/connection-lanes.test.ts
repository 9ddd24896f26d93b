/**
 * The timeline sink's connection lanes without a browser: bounded (the busiest connections get a
 * lane, the rest share one), only slow and blocked Connection::poll calls become bars, live a
 * closed connection is forgotten once its bars leave the window, quiet stretches kept apart from
 * stalls. (The browser test on the tokio fixture is connections.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { MAX_CONNECTION_LANES, TimelineSink } from '../../src/export/timeline.js';
import type { ConnectionObservation, SpanPollObservation } from '../../src/reactor/observations.js';
import type { LogTime } from '../../src/time.js';

const T0 = 1_796_020_078;
const at = (ns: number): LogTime => ({ sec: T0 + Math.floor(ns / 1e9), nsec: ns % 1e9, digits: 6 });
const pos = { file: 'none', line: 1, offset: 0 };
const PEER = (i: number) => `12D3KooW${String(i).padStart(44, 'x')}`;

function connPoll(id: number, startNs: number, busyNs: number, slow: boolean, blocked = false): SpanPollObservation {
  return {
    span: 'connection',
    start: at(startNs),
    end: at(startNs + busyNs),
    busyNs,
    idleNs: 0,
    conn: { id: String(id), peer: PEER(id), remote: '/ip4/127.0.0.1/tcp/1' },
    thread: '',
    slow,
    blocked,
    connPos: pos,
    pos,
  };
}

function closed(id: number, ns: number): ConnectionObservation {
  return {
    conn: { id: String(id), peer: PEER(id), remote: null },
    established: at(0),
    firstSeen: at(0),
    lastSeen: at(ns),
    closed: at(ns),
    closedWithError: false,
    polls: 1,
    busyNs: 0,
    maxPollNs: 0,
    p99PollNs: null,
    slowPolls: 1,
    blockedPolls: 0,
    lines: 1,
    pos,
  };
}

describe('timeline connection lanes', () => {
  it('the busiest connections get a lane each, the others share one; fast polls are not bars', () => {
    const sink = new TimelineSink();
    const n = MAX_CONNECTION_LANES + 5;
    for (let id = 1; id <= n; id++) {
      // connection id has id ms of busy time in one slow poll, and a fast poll that is no bar
      sink.spanPoll(connPoll(id, id * 1e8, id * 1e6, true));
      sink.spanPoll(connPoll(id, id * 1e8 + 5e7, 10_000, false));
    }
    sink.spanPoll(connPoll(n, 9e9, 2e9, true, true)); // blocked
    sink.spanPoll({ ...connPoll(1, 1e8, 1e6, true), span: 'handler' }); // not Connection::poll: no bar
    const lanes = sink.data([], 't').lanes.filter((l) => l.kind === 'conn');
    expect(lanes).toHaveLength(MAX_CONNECTION_LANES + 1);
    expect(lanes.slice(0, MAX_CONNECTION_LANES).map((l) => l.id)).toEqual(
      Array.from({ length: MAX_CONNECTION_LANES }, (_, k) => `conn:${n - k}`),
    );
    expect(lanes[0].n).toBe(2);
    expect(Buffer.from(lanes[0].code, 'base64')).toEqual(Buffer.from([0, 1])); // slow, blocked
    const others = lanes[MAX_CONNECTION_LANES];
    expect(others.label).toBe('other connections (5)');
    expect(others.n).toBe(5);
    expect(lanes[1].label).toBe(`conn ${n - 1} · 12D3…${PEER(n - 1).slice(-6)}`);
    expect(sink.summaryRows().find((r) => r[0] === 'connection polls')?.[1]).toBe(
      `${2 * n + 1} Connection::poll calls, ${n} connections`,
    );
  });

  it('live: a closed connection goes when its bars leave the window; quiet stretches are kept apart from stalls', () => {
    const sink = new TimelineSink({ windowNs: 10e9 });
    sink.spanPoll(connPoll(1, 1e9, 1e6, true));
    sink.connection(closed(1, 2e9));
    sink.spanPoll(connPoll(2, 3e9, 1e6, true));
    sink.quiet({ start: at(4e9), end: at(5.2e9), durationNs: 1.2e9, openConnections: 1, pos });
    let d = sink.data([], 't');
    expect(d.lanes.map((l) => l.id)).toEqual(['conn:1', 'conn:2']); // equally busy: first seen first
    // times are relative to the first observation's whole second (T0 + 1)
    expect(d.quiet.map((q) => [q.startNs, q.durationNs, q.openConnections])).toEqual([[3e9, 1.2e9, 1]]);
    expect(d.stalls).toEqual([]);
    expect(Object.values(d.stallCounts).reduce((a, b) => a + b, 0)).toBe(0);
    // 20 s later: connection 1's bar and the quiet stretch left the window; connection 2 is still open.
    sink.spanPoll(connPoll(2, 23e9, 1e6, true));
    d = sink.data([], 't');
    expect(d.lanes.map((l) => [l.id, l.n])).toEqual([['conn:2', 1]]);
    expect(d.quiet).toEqual([]);
    expect(d.quietCount).toBe(1);
    // Connection 1 is forgotten: a poll under its id now starts a fresh lane.
    sink.spanPoll(connPoll(1, 24e9, 3e6, true));
    expect(sink.data([], 't').lanes.map((l) => [l.id, l.n])).toEqual([
      ['conn:1', 1],
      ['conn:2', 1],
    ]);
  });
});
