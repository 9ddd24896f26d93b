/**
 * rust-libp2p ≥ 0.53 spans and connection events: lines copied verbatim from the tokio fixtures
 * (test/real-relay-tokio, written by tracing-subscriber 0.3.16), read by pollscope's own envelope
 * parser, then decoded.
 */
import { describe, expect, it } from 'vitest';
import type { ReactorEvent } from '../../src/decode/events.js';
import { ConnectionContexts, Libp2pDecoder, SpanContextDecoder } from '../../src/decode/libp2p.js';
import { SwarmDecoder } from '../../src/decode/swarm.js';
import { RecordAssembler } from '../../src/parse/record-assembler.js';
import { copyRecord, newRecord, type LogRecord } from '../../src/parse/record.js';
import { rec, run } from './support.js';

/** The records of `lines`, through the real envelope detection and parser. */
function parse(...lines: string[]): LogRecord[] {
  const out: LogRecord[] = [];
  const a = new RecordAssembler(
    {
      record: (r) => {
        const c = newRecord();
        copyRecord(r, c);
        out.push(c);
      },
      malformed: () => undefined,
      oversize: () => undefined,
    },
    new Date(0),
  );
  lines.forEach((l, i) => a.line(l, 0, i + 1));
  a.flush();
  return out;
}

const PEER = '12D3KooW5oWwuPJp1xk5hdp3w8TY69aJYTZK34RPqVEPNePiSDP6';
const FULL_CLOSE = `2026-11-30T06:27:58.429250Z DEBUG new_established_connection{remote_addr=/ip4/127.0.0.1/tcp/37194 id=1 peer=${PEER}}:Connection::poll: libp2p_swarm::connection: close time.busy=8.89µs time.idle=290ns`;
const COMPACT_CLOSE = `2026-11-30T06:28:07.410245Z DEBUG new_established_connection:Connection::poll: libp2p_swarm::connection: close time.busy=8.42µs time.idle=350ns remote_addr=/ip4/127.0.0.1/tcp/33566 id=1 peer=${PEER}`;
const JSON_CLOSE = `{"timestamp":"2026-11-30T06:28:16.397930Z","level":"DEBUG","fields":{"message":"close","time.busy":"13.8µs","time.idle":"330ns"},"target":"libp2p_swarm::connection","span":{"name":"Connection::poll"},"spans":[{"id":"1","peer":"${PEER}","remote_addr":"/ip4/127.0.0.1/tcp/42156","name":"new_established_connection"}]}`;
const JSON_SWARM_CLOSE = `{"timestamp":"2026-11-30T06:28:16.344363Z","level":"DEBUG","fields":{"message":"close","time.busy":"34.8µs","time.idle":"1.91µs"},"target":"libp2p_swarm","span":{"name":"Swarm::poll"},"spans":[]}`;
const JSON_POOL_CLOSE = `{"timestamp":"2026-11-30T06:28:16.344332Z","level":"DEBUG","fields":{"message":"close","time.busy":"1.11µs","time.idle":"721ns"},"target":"libp2p_swarm::connection::pool","span":{"name":"Pool::poll"},"spans":[{"name":"Swarm::poll"}]}`;
const ESTABLISHED = `2026-11-30T06:27:58.429234Z DEBUG Swarm::poll: libp2p_swarm: Connection established peer=${PEER} endpoint=Listener { local_addr: /ip4/127.0.0.1/tcp/42353, send_back_addr: /ip4/127.0.0.1/tcp/37194 } total_peers=1`;
const CLOSED = `2026-11-30T06:28:05.881416Z DEBUG Swarm::poll: libp2p_swarm: Connection closed: Connected { endpoint: Listener { local_addr: /ip4/127.0.0.1/tcp/42353, send_back_addr: /ip4/127.0.0.1/tcp/35488 }, peer_id: PeerId("12D3KooWMVDCPNS6V7SQvxsNCMzm1ownXGpqETorw16rHLRr9VnU") } total_peers=5`;

const one = (line: string, d = new Libp2pDecoder()): { ok: boolean; events: ReactorEvent[] } => run(d, parse(line)[0]);

describe('Libp2pDecoder', () => {
  it.each([
    ['Full', FULL_CLOSE, 8_890, 290, '/ip4/127.0.0.1/tcp/37194'],
    ['Compact (span fields at the end of the message)', COMPACT_CLOSE, 8_420, 350, '/ip4/127.0.0.1/tcp/33566'],
    ['JSON (the closing span only in `span`)', JSON_CLOSE, 13_800, 330, '/ip4/127.0.0.1/tcp/42156'],
  ])('%s: Connection::poll close with its timing and its connection', (_, line, busy, idle, remote) => {
    const { ok, events } = one(line);
    expect(ok).toBe(true);
    expect(events).toEqual([
      {
        kind: 'span',
        span: 'connection',
        phase: 'close',
        busyNs: busy,
        idleNs: idle,
        conn: { id: '1', peer: PEER, remote },
      },
    ]);
  });

  it("JSON: a Swarm::poll close is the swarm decoder's, a Pool::poll close inside it is not taken for it", () => {
    const swarm = new SwarmDecoder();
    const [swarmClose, poolClose] = parse(JSON_SWARM_CLOSE, JSON_POOL_CLOSE);
    expect(swarmClose.spans).toBe('Swarm::poll');
    expect(poolClose.spans).toBe('Swarm::poll:Pool::poll');
    expect(run(swarm, swarmClose).events).toEqual([{ kind: 'poll_end', ready: null, busyNs: 34_800, idleNs: 1_910 }]);
    expect(run(swarm, poolClose).ok).toBe(false);
    expect(run(new Libp2pDecoder(), poolClose).events).toEqual([
      { kind: 'span', span: 'pool', phase: 'close', busyNs: 1_110, idleNs: 721, conn: null },
    ]);
  });

  it('"Connection established" with peer, the Listener endpoint\'s remote address and total_peers', () => {
    expect(one(ESTABLISHED).events).toEqual([
      {
        kind: 'connection',
        what: 'established',
        peer: PEER,
        remote: '/ip4/127.0.0.1/tcp/37194',
        totalPeers: 1,
        error: false,
      },
    ]);
  });

  it('"Connection closed" (and "with error") from the Connected Debug, a Dialer endpoint\'s address', () => {
    expect(one(CLOSED).events).toEqual([
      {
        kind: 'connection',
        what: 'closed',
        peer: '12D3KooWMVDCPNS6V7SQvxsNCMzm1ownXGpqETorw16rHLRr9VnU',
        remote: '/ip4/127.0.0.1/tcp/35488',
        totalPeers: 5,
        error: false,
      },
    ]);
    const withError = rec(
      'libp2p_swarm',
      'Connection closed with error KeepAliveTimeout: Connected { endpoint: Dialer { address: /ip4/10.0.0.2/tcp/4001, role_override: Dialer, port_use: Reuse }, peer_id: PeerId("12D3KooWX") } total_peers=0',
      'Swarm::poll',
    );
    expect(run(new Libp2pDecoder(), withError).events).toEqual([
      {
        kind: 'connection',
        what: 'closed',
        peer: '12D3KooWX',
        remote: '/ip4/10.0.0.2/tcp/4001',
        totalPeers: 0,
        error: true,
      },
    ]);
  });

  it('FmtSpan new/enter/exit of the poll spans; spans it does not model are not its business', () => {
    const d = new Libp2pDecoder();
    const spans = `new_established_connection{remote_addr=/ip4/127.0.0.1/tcp/1 id=7 peer=P}:Connection::poll`;
    for (const phase of ['new', 'enter', 'exit'] as const) {
      const { ok, events } = run(d, rec('libp2p_swarm::connection', phase, spans, '3'));
      expect(ok).toBe(true);
      expect(events).toEqual([
        {
          kind: 'span',
          span: 'connection',
          phase,
          conn: { id: '7', peer: 'P', remote: '/ip4/127.0.0.1/tcp/1' },
          tid: '3',
        },
      ]);
    }
    expect(run(d, rec('libp2p_swarm', 'close time.busy=1µs time.idle=1µs', 'Swarm::poll')).ok).toBe(false);
    expect(run(d, rec('libp2p_kad::handler', 'close time.busy=1µs', 'some_other_span')).ok).toBe(false);
  });

  it('one ConnectionRef object per connection: consecutive lines share it, no allocation per line', () => {
    const contexts = new ConnectionContexts();
    const [a, b] = parse(FULL_CLOSE, FULL_CLOSE.replace('close time.busy=8.89µs', 'close time.busy=9µs'));
    expect(contexts.of(a)).toBe(contexts.of(b));
  });
});

describe('SpanContextDecoder', () => {
  it("any target inside a connection root span is that connection's activity; outside, nothing", () => {
    const d = new SpanContextDecoder();
    const inside = rec(
      'relaygen',
      'handling command command="echo"',
      `new_established_connection{remote_addr=/ip4/127.0.0.1/tcp/9 id=2 peer=Q}:Connection::poll:ConnectionHandler::poll`,
    );
    expect(run(d, inside).events).toEqual([
      { kind: 'connection_activity', conn: { id: '2', peer: 'Q', remote: '/ip4/127.0.0.1/tcp/9' } },
    ]);
    expect(run(d, rec('relaygen', 'x', 'Swarm::poll')).ok).toBe(false);
    expect(run(d, rec('relaygen', 'x', 'new_established_connectionX{id=1}')).ok).toBe(false);
  });
});
