import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture as fixturePath } from '../helpers.js';
import { rec as record, run } from './support.js';
import type { LogRecord } from '../../src/parse/record.js';
import type { Decoder, ReactorEvent } from '../../src/decode/events.js';
import { SwarmDecoder } from '../../src/decode/swarm.js';

const S = 'libp2p_swarm';

const rec = (message: string, spans = '', thread = ''): LogRecord => record(S, message, spans, thread);

function runAll(d: Decoder, recs: LogRecord[]): ReactorEvent[] {
  return recs.flatMap((r) => {
    const g = run(d, r);
    expect(g.ok, r.message).toBe(true);
    return g.events;
  });
}

describe('fork Swarm<TBehavior>::Stream::poll_next', () => {
  it('seed excerpt line 1: a cycle ends Pending', () => {
    const line = readFileSync(fixturePath('seed/relay_v2-excerpt.log'), 'utf8').split('\n')[0];
    const m = /^\[\S+ TRACE (\S+)\] (.*)$/.exec(line)!;
    expect(m[1]).toBe(S);
    expect(run(new SwarmDecoder(), rec(m[2]))).toEqual({ ok: true, events: [{ kind: 'poll_end', ready: false }] });
  });

  it('7f0e16c3..39782a25', () => {
    const d = new SwarmDecoder();
    expect(run(d, rec('Swarm<TBehavior>::Stream::poll_next:+')).events).toEqual([{ kind: 'poll_start' }]);
    expect(run(d, rec('Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): true')).events).toEqual([
      { kind: 'poll_end', ready: true },
    ]);
  });

  it('283932f4..58846ab0: tid in the message', () => {
    const d = new SwarmDecoder();
    expect(run(d, rec('Swarm<TBehavior>::Stream::poll_next:+ tid=1')).events).toEqual([
      { kind: 'poll_start', tid: '1' },
    ]);
    expect(run(d, rec('Swarm<TBehavior>::Stream::poll_next:- tid=1 res.is_ready(): false')).events).toEqual([
      { kind: 'poll_end', ready: false, tid: '1' },
    ]);
  });

  it('eaba2e85..45daf8e0', () => {
    const d = new SwarmDecoder();
    expect(run(d, rec('Swarm<TBehavior>::Stream::poll_next:+', '', '1')).events).toEqual([{ kind: 'poll_start' }]);
    expect(run(d, rec('Swarm<TBehavior>::Stream::poll_next:- res.is_ready(): true', '', '1')).events).toEqual([
      { kind: 'poll_end', ready: true },
    ]);
  });

  it('nested fork lines: recognised, no event', () => {
    const d = new SwarmDecoder();
    for (const m of [
      'Swarm<TBehavior>::poll_next_event:+',
      'Swarm<TBehavior>::poll_next_event:+ tid=1',
      'Swarm<TBehavior>::poll_next_event:- behaviour_poll Poll::Pending listeners_not_ready: true && connections_not_ready: true, result.is_ready: false',
      'Listener:+ tid=1',
      'Listener:+',
      'Listener:- tid=1 Ok(connection_id: ConnectionId(3)), res.is_ready: true',
      'Listener: TOL',
      'Listener: behaviour_poll',
      'Listener: Poll::Pending: connections_not_ready: true',
      'Listener: Connection established: PeerId("12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN") Listener { local_addr: "/ip4/0.0.0.0/tcp/4001", send_back_addr: "/ip4/1.2.3.4/tcp/5" }; Total (peer): 1. Total non-banned (peer): 1',
    ])
      expect(run(d, rec(m)), m).toEqual({ ok: true, events: [] });
  });

  it('upstream libp2p_swarm debug lines are not ours', () => {
    const d = new SwarmDecoder();
    for (const m of [
      'Listener ListenerId(1); New address: "/ip4/127.0.0.1/tcp/4001"',
      'Connection established: PeerId("12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN") Dialer { address: "/ip4/1.2.3.4/tcp/4001" }; Total (peer): 1. Total non-banned (peer): 1',
      'local_peer_id=12D3KooWb8dLcukC7edhDQ7cn5d4gEYkbUrMWeWQLGsCmrG6dLaY',
      'New listener address listener=ListenerId(1) address=/ip4/10.0.3.7/tcp/4001',
    ])
      expect(run(d, rec(m)), m).toEqual({ ok: false, events: [] });
  });
});

describe('upstream ≥0.53 FmtSpan Swarm::poll', () => {
  const cycle = (thread = '') =>
    ['new', 'enter', 'exit', 'close time.busy=41.2µs time.idle=3.10µs'].map((m) => rec(m, 'Swarm::poll', thread));

  it('FULL: one start and one end per cycle; close carries the end once seen', () => {
    const d = new SwarmDecoder();
    expect(runAll(d, cycle())).toEqual([{ kind: 'poll_start' }, { kind: 'poll_end', ready: null }]);
    expect(runAll(d, cycle())).toEqual([
      { kind: 'poll_start' },
      { kind: 'poll_end', ready: null, busyNs: 41_200, idleNs: 3_100 },
    ]);
  });

  it('FULL, two threads interleaved', () => {
    const d = new SwarmDecoder();
    const a = cycle('1');
    const b = cycle('2');
    const got = runAll(d, [a[0], a[1], b[0], b[1], a[2], b[2], a[3], b[3]]);
    expect(got.filter((e) => e.kind === 'poll_start')).toHaveLength(2);
    expect(got.filter((e) => e.kind === 'poll_end')).toHaveLength(2);
  });

  it('CLOSE only (the doc example): the end with busy/idle', () => {
    const d = new SwarmDecoder();
    expect(run(d, rec('close time.busy=41.2µs time.idle=3.10µs', 'Swarm::poll')).events).toEqual([
      { kind: 'poll_end', ready: null, busyNs: 41_200, idleNs: 3_100 },
    ]);
  });

  it('ENTER|EXIT (ACTIVE): enter starts, exit ends', () => {
    const d = new SwarmDecoder();
    expect(runAll(d, [rec('enter', 'Swarm::poll'), rec('exit', 'Swarm::poll')])).toEqual([
      { kind: 'poll_start' },
      { kind: 'poll_end', ready: null },
    ]);
  });

  it('inside a parent span; nested spans and plain events are not cycles', () => {
    const d = new SwarmDecoder();
    expect(
      run(d, rec('new', 'new_incoming_connection{remote_addr=/ip4/1.2.3.4/tcp/5 id=1}:Swarm::poll')).events,
    ).toEqual([{ kind: 'poll_start' }]);
    expect(run(d, rec('new', 'Swarm::poll:Pool::poll')).ok).toBe(false);
    expect(run(d, rec('Connection established peer=12D3Koo endpoint=Listener total_peers=1', 'Swarm::poll')).ok).toBe(
      false,
    );
  });
});
