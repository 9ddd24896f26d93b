import { describe, expect, it } from 'vitest';
import type { ConnectionRef, ReactorEvent } from '../../src/decode/events.js';
import { newRecord } from '../../src/parse/record.js';
import { DEFAULT_THRESHOLDS, ReactorModel } from '../../src/reactor/model.js';
import type {
  ConnectionObservation,
  QuietObservation,
  SpanPollObservation,
  StallObservation,
  UnfinishedObservation,
} from '../../src/reactor/observations.js';

/** Drives the model with (µs since 12:00:00, events, thread) steps, like the pipeline does. */
function run(steps: Array<[number, ReactorEvent[], string?]>) {
  const polls: SpanPollObservation[] = [];
  const conns: ConnectionObservation[] = [];
  const stalls: StallObservation[] = [];
  const quiets: QuietObservation[] = [];
  const open: UnfinishedObservation[] = [];
  const model = new ReactorModel(
    {
      spanPoll: (p) => polls.push(p),
      connection: (c) => conns.push(c),
      stall: (s) => stalls.push(s),
      quiet: (q) => quiets.push(q),
      unfinished: (u) => open.push(u),
    },
    DEFAULT_THRESHOLDS,
  );
  const base = Date.UTC(2026, 10, 30, 12, 0, 0) / 1000;
  steps.forEach(([us, events, thread], i) => {
    const rec = newRecord();
    rec.hasTime = true;
    rec.sec = base + Math.floor(us / 1e6);
    rec.nsec = (us % 1e6) * 1000;
    rec.digits = 6;
    rec.line = i + 1;
    rec.file = 't.log';
    rec.thread = thread ?? '';
    model.advance(rec);
    for (const ev of events) model.event(ev, rec);
    model.afterRecord(rec);
  });
  model.finish();
  return { polls, conns, stalls, quiets, open };
}

const A: ConnectionRef = { id: '1', peer: 'PA', remote: '/ip4/127.0.0.1/tcp/1' };
const B: ConnectionRef = { id: '2', peer: 'PB', remote: '/ip4/127.0.0.1/tcp/2' };
const established = (c: ConnectionRef): ReactorEvent => ({
  kind: 'connection',
  what: 'established',
  peer: c.peer,
  remote: c.remote,
  totalPeers: null,
  error: false,
});
const close = (
  conn: ConnectionRef | null,
  busyNs: number,
  span: 'connection' | 'pool' = 'connection',
): ReactorEvent => ({
  kind: 'span',
  span,
  phase: 'close',
  busyNs,
  idleNs: 0,
  conn,
});

describe('ConnectionModel (span-based relays)', () => {
  it('a connection from "established" to "closed", its polls, slow and blocked ones naming it', () => {
    const r = run([
      [0, [established(A)]],
      [100, [close(A, 40_000)]],
      [1_000, [close(A, 60_000)]],
      [2_000_000, [close(A, 1_500_000_000)]],
      [2_100_000, [{ kind: 'connection', what: 'closed', peer: 'PA', remote: A.remote, totalPeers: 0, error: true }]],
    ]);
    expect(r.polls.map((p) => [p.busyNs, p.slow])).toEqual([
      [40_000, false],
      [60_000, true],
      [1_500_000_000, true],
    ]);
    expect(r.stalls).toHaveLength(1);
    expect(r.stalls[0].kind).toBe('blocked_poll');
    expect(r.stalls[0].detail).toBe(
      'a Connection::poll of connection 1 (peer PA, /ip4/127.0.0.1/tcp/1) did not return',
    );
    expect(r.stalls[0].durationNs).toBe(1_500_000_000);
    expect(r.conns).toHaveLength(1);
    const c = r.conns[0];
    expect([c.polls, c.slowPolls, c.blockedPolls, c.closedWithError]).toEqual([3, 2, 1, true]);
    expect(c.established?.nsec).toBe(0);
    expect(c.closed?.nsec).toBe(100_000_000);
    expect(r.open).toHaveLength(0);
  });

  it('ENTER/EXIT without CLOSE: polls paired per span, connection and thread', () => {
    const span = (phase: 'enter' | 'exit', conn: ConnectionRef): ReactorEvent => ({
      kind: 'span',
      span: 'connection',
      phase,
      conn,
    });
    const r = run([
      [0, [span('enter', A)], '1'],
      [10, [span('enter', B)], '2'],
      [70, [span('exit', A)], '1'],
      [5_010, [span('exit', B)], '2'],
    ]);
    expect(r.polls.map((p) => [p.conn?.id, p.busyNs])).toEqual([
      ['1', 70_000],
      ['2', 5_000_000],
    ]);
  });

  it('a gap with connections open and no reactor lines is quiet, not a stall; open connections are unfinished', () => {
    const r = run([
      [0, [established(A), close(A, 10_000)]],
      [100, [close(null, 2_000, 'pool')]],
      [1_300_000, [close(A, 10_000)]],
    ]);
    expect(r.stalls).toHaveLength(0);
    expect(r.quiets).toHaveLength(1);
    expect(r.quiets[0].durationNs).toBe(1_299_900_000);
    expect(r.quiets[0].openConnections).toBe(1);
    expect(r.open.map((u) => u.what)).toEqual(['connection']);
    expect(r.conns[0].closed).toBeNull();
  });
});
