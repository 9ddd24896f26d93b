/**
 * rust-libp2p ≥ 0.53 `tracing` spans and connection events (the relays of today, on tokio):
 *
 * - FmtSpan lifecycle lines (`new`, `enter`, `exit`, `close time.busy=… time.idle=…`) of `Pool::poll`
 *   (`libp2p_swarm::connection::pool`), `Connection::poll` (`libp2p_swarm::connection`), protocol
 *   crates' `ConnectionHandler::poll` / `NetworkBehaviour::poll`, the connection root spans
 *   `new_established_connection{remote_addr, id, peer}`, `new_incoming_connection{remote_addr, id}`,
 *   `new_outgoing_connection{…, id}` and `Transport::dial{address}`. `Swarm::poll` is the swarm
 *   decoder's (a poll cycle).
 * - The swarm's debug events "Connection established" `{peer, endpoint, total_peers}` and
 *   "Connection closed[ with error …]: Connected { endpoint, peer_id }" `{total_peers}`.
 * - Any other line inside a connection's root span (the span context prefix, or JSON `spans`):
 *   that connection was active then (`SpanContextDecoder`, tried for every target).
 *
 * Where the connection comes from: Full and JSON put the root span's fields in the context
 * (`new_established_connection{remote_addr=… id=3 peer=…}:Connection::poll`); Compact keeps only
 * span names there and appends every span's fields to the end of the message (`close
 * time.busy=… time.idle=… remote_addr=… id=3 peer=…`). Reading them, and the innermost span's
 * kind, is libp2p-contexts.ts's (once per distinct context, one ConnectionRef per connection).
 */
import type { Decoder, ReactorEvent, ReactorEventSink, SpanPhase } from './events.js';
import { keepText, type LogRecord } from '../parse/record.js';
import { fieldStart, intAt, isWordMessage, spanTimingInto, textAt } from './fields.js';
import { ConnectionContexts, keptValueAt } from './libp2p-contexts.js';

export { ConnectionContexts, innermostLibp2pSpan, libp2pSpanAt } from './libp2p-contexts.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_C = 67,
  C_c = 99,
  C_e = 101,
  C_n = 110;

/** A FmtSpan close message's start (spanTimingInto's laid-out form). */
const CLOSE_BUSY = 'close time.busy=';

/** Protocol crates whose `ConnectionHandler::poll` / `NetworkBehaviour::poll` spans are read (their targets are module paths below these). */
export const PROTOCOL_TARGETS: readonly string[] = [
  'libp2p_relay',
  'libp2p_kad',
  'libp2p_identify',
  'libp2p_ping',
  'libp2p_gossipsub',
  'libp2p_autonat',
  'libp2p_dcutr',
  'libp2p_request_response',
  'libp2p_rendezvous',
  'libp2p_mdns',
  'libp2p_floodsub',
  'libp2p_upnp',
  'libp2p_stream',
  'libp2p_perf',
  'libp2p_connection_limits',
  'libp2p_memory_connection_limits',
  'libp2p_allow_block_list',
];

type SpanEvent = Extract<ReactorEvent, { kind: 'span' }>;

/** The Libp2p span and connection-event decoder (targets below `libp2p_swarm` and the protocol crates). */
export class Libp2pDecoder implements Decoder {
  readonly name = 'libp2p';
  readonly targets: readonly string[] = [
    'libp2p_swarm',
    'libp2p_swarm::connection',
    'libp2p_swarm::connection::pool',
    ...PROTOCOL_TARGETS,
  ];

  constructor(private readonly contexts = new ConnectionContexts()) {}

  decode(rec: LogRecord, sink: ReactorEventSink): boolean {
    const m = rec.message;
    switch (m.charCodeAt(0)) {
      case C_n:
        if (isWordMessage(m, 'new')) return this.lifecycle('new', rec, sink);
        break;
      case C_e:
        if (isWordMessage(m, 'enter')) return this.lifecycle('enter', rec, sink);
        if (isWordMessage(m, 'exit')) return this.lifecycle('exit', rec, sink);
        break;
      case C_c:
        // one native compare for the word and the timing key as FmtSpan lays them out
        if (textAt(m, 0, CLOSE_BUSY)) return this.lifecycle('close', rec, sink, true);
        if (isWordMessage(m, 'close')) return this.lifecycle('close', rec, sink, false);
        break;
      case C_C:
        if (m.startsWith('Connection established')) return this.established(m, rec, sink);
        if (m.startsWith('Connection closed')) return this.closed(m, rec, sink);
        break;
    }
    return activity(this.contexts, rec, sink);
  }

  /** busyAt16: the message starts `close time.busy=` (then spanTimingInto need not check). */
  private lifecycle(phase: SpanPhase, rec: LogRecord, sink: ReactorEventSink, busyAt16 = false): boolean {
    const facts = this.contexts.facts(rec.spans, rec.spansId);
    const kind = facts.kind;
    if (kind === null) return false;
    // every property set up front: one object shape for all span events
    const ev: SpanEvent = {
      kind: 'span',
      span: kind,
      phase,
      busyNs: undefined,
      idleNs: undefined,
      conn: null,
      tid: undefined,
    };
    // the timing first: where it ends, a Compact message's span fields start
    ev.conn = this.contexts.connection(facts, rec, phase === 'close' ? spanTimingInto(rec.message, ev, busyAt16) : -1);
    if (rec.thread !== '') ev.tid = rec.thread;
    sink.event(ev, rec);
    return true;
  }

  /** `Connection established peer=P endpoint=Listener { local_addr: A, send_back_addr: R } total_peers=N` */
  private established(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const p = fieldStart(m, 'peer=', 22);
    sink.event(
      {
        kind: 'connection',
        what: 'established',
        peer: p < 0 ? null : keptValueAt(m, p, m.length, rec.raw),
        remote: keptRemote(m, 22, rec.raw),
        totalPeers: totalPeers(m),
        error: false,
      },
      rec,
    );
    return true;
  }

  /** `Connection closed[ with error E]: Connected { endpoint: …, peer_id: PeerId("P") } total_peers=N` */
  private closed(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const p = m.indexOf('PeerId("', 17);
    let peer: string | null = null;
    if (p >= 0) {
      const q = m.indexOf('"', p + 8);
      if (q > p + 8) peer = m.slice(p + 8, q);
    }
    sink.event(
      {
        kind: 'connection',
        what: 'closed',
        peer: peer === null ? null : keepText(peer, rec.raw),
        remote: keptRemote(m, 17, rec.raw),
        totalPeers: totalPeers(m),
        error: m.startsWith(' with error', 17),
      },
      rec,
    );
    return true;
  }
}

/** The remote address in a ConnectedPoint's Debug: a Listener's `send_back_addr`, a Dialer's `address`. */
function remoteOfEndpoint(m: string, from: number): string | null {
  let p = m.indexOf('send_back_addr: ', from);
  if (p >= 0) p += 16;
  else {
    p = m.indexOf('Dialer { address: ', from);
    if (p < 0) return null;
    p += 18;
  }
  let i = p;
  while (i < m.length) {
    const c = m.charCodeAt(i);
    if (c === 32 || c === 44 /* , */ || c === 125) break;
    i++;
  }
  return i > p ? m.slice(p, i) : null;
}

function keptRemote(m: string, from: number, raw: boolean): string | null {
  const r = remoteOfEndpoint(m, from);
  return r === null ? null : keepText(r, raw);
}

function totalPeers(m: string): number | null {
  const t = fieldStart(m, 'total_peers=', 0);
  if (t < 0) return null;
  const n = intAt(m, t);
  return Number.isNaN(n) ? null : n;
}

function activity(contexts: ConnectionContexts, rec: LogRecord, sink: ReactorEventSink): boolean {
  const conn = contexts.of(rec);
  if (conn === null) return false;
  sink.event({ kind: 'connection_activity', conn }, rec);
  return true;
}

/**
 * Lines of any target logged inside a connection's root span (no FmtSpan: spans show only as
 * these prefixes): the connection was active at that time. Tried after a target's own decoders.
 */
export class SpanContextDecoder implements Decoder {
  readonly name = 'libp2p-context';
  readonly targets: readonly string[] = [];

  constructor(private readonly contexts = new ConnectionContexts()) {}

  decode(rec: LogRecord, sink: ReactorEventSink): boolean {
    return activity(this.contexts, rec, sink);
  }
}
