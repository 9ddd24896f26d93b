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
 * time.busy=… time.idle=… remote_addr=… id=3 peer=…`). One ConnectionRef object per distinct
 * connection context is handed out (cached), so the model can keep it and no line allocates one.
 */
import type { ConnectionRef, Decoder, Libp2pSpan, ReactorEvent, ReactorEventSink, SpanPhase } from './events.js';
import type { LogRecord } from '../parse/record.js';
import { fieldStart, innermostSpanStart, intAt, isWordMessage, spanNameIs, spanTimingInto } from './fields.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_C = 67,
  C_c = 99,
  C_e = 101,
  C_n = 110;

const ESTABLISHED = 'new_established_connection';
/** Connection contexts remembered; past this the cache starts over (refs already handed out stay valid). */
const MAX_CACHED_CONNECTIONS = 4096;

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

/** Span names → kinds, tried by the name's first character. */
const SPAN_NAMES: ReadonlyArray<readonly [string, Libp2pSpan]> = [
  ['Pool::poll', 'pool'],
  ['Connection::poll', 'connection'],
  ['ConnectionHandler::poll', 'handler'],
  ['NetworkBehaviour::poll', 'behaviour'],
  [ESTABLISHED, 'established'],
  ['new_incoming_connection', 'incoming'],
  ['new_outgoing_connection', 'outgoing'],
  ['Transport::dial', 'dial'],
];

type SpanEvent = Extract<ReactorEvent, { kind: 'span' }>;

/** The innermost span's kind, if it is one of rust-libp2p's spans pollscope reads. */
export function libp2pSpanAt(spans: string, start: number): Libp2pSpan | null {
  if (start < 0) return null;
  const c = spans.charCodeAt(start);
  for (let i = 0; i < SPAN_NAMES.length; i++) {
    const [name, kind] = SPAN_NAMES[i];
    if (name.charCodeAt(0) === c && spanNameIs(spans, start, name)) return kind;
  }
  return null;
}

/** A `key=value` value (no spaces in it: numbers, multiaddrs, peer ids) at `pos`, up to a space, `}` or the end. */
function valueAt(text: string, pos: number, end: number): string {
  let i = pos;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 125 /* } */) break;
    i++;
  }
  return text.slice(pos, i);
}

/** Start of the value of field `key` within text[from, end) where the key follows a space or `{`; -1 if absent. */
function fieldIn(text: string, key: string, from: number, end: number): number {
  let p = from;
  for (;;) {
    p = text.indexOf(key, p);
    if (p < 0 || p >= end) return -1;
    const before = text.charCodeAt(p - 1);
    if (before === 32 || before === 123 /* { */) return p + key.length;
    p += key.length;
  }
}

/** Connection identities from span contexts and Compact message tails, one object per connection. */
export class ConnectionContexts {
  private readonly byKey = new Map<string, ConnectionRef>();
  /** The last root span text (`new_established_connection{…}`) and its ref: consecutive lines share it. */
  private lastRoot = '';
  private lastRef: ConnectionRef | null = null;

  /**
   * Refs by the text they were read from: a Full/JSON root span (`new_established_connection{…}`)
   * or a Compact message's field tail (see compactTailStart). A hit costs one
   * slice and one lookup instead of three field searches and a key string.
   */
  private readonly byText = new Map<string, ConnectionRef>();

  /** The connection whose root span `rec` is logged in, or null. */
  of(rec: LogRecord): ConnectionRef | null {
    const spans = rec.spans;
    if (!spans.startsWith(ESTABLISHED)) return null;
    const n = ESTABLISHED.length;
    const c = spans.charCodeAt(n);
    if (c === 123 /* { */) {
      if (this.lastRef !== null && spans.startsWith(this.lastRoot)) return this.lastRef;
      const close = spans.indexOf('}', n);
      const end = close < 0 ? spans.length : close;
      const root = spans.slice(0, end + 1);
      let ref = this.byText.get(root) ?? null;
      if (ref === null) {
        ref = this.ref(spans, n, end);
        if (ref !== null) this.remember(root, ref);
      }
      if (ref !== null) {
        this.lastRoot = ref === this.lastRef ? this.lastRoot : (this.rootCopy.get(ref) ?? root);
        this.lastRef = ref;
      }
      return ref;
    }
    if (c !== 58 /* : */ && !Number.isNaN(c)) return null; // another span whose name merely starts so
    // Compact: the fields are at the end of the message.
    const m = rec.message;
    const t = compactTailStart(m);
    if (t < 0) return this.ref(m, 0, m.length);
    const tail = m.slice(t);
    const ref = this.byText.get(tail);
    if (ref === undefined) {
      const r = this.ref(m, 0, m.length);
      if (r === null) return null;
      // only when the tail alone names the same connection (no id=/peer= earlier in the message)
      const again = this.ref(tail, 0, tail.length);
      if (again === r) this.remember(tail, r);
      return r;
    }
    return ref;
  }

  /** The copied root text per ref (a Full root span), so lastRoot never holds a chunk slice. */
  private readonly rootCopy = new Map<ConnectionRef, string>();

  private remember(text: string, ref: ConnectionRef): void {
    if (this.byText.size >= MAX_CACHED_CONNECTIONS * 2) {
      this.byText.clear();
      this.rootCopy.clear();
    }
    // Copy: the text is a slice of a chunk string, which it would keep alive as a key.
    const key = Buffer.from(text).toString();
    this.byText.set(key, ref);
    if (key.startsWith(ESTABLISHED)) this.rootCopy.set(ref, key);
  }

  private ref(text: string, from: number, end: number): ConnectionRef | null {
    const i = fieldIn(text, 'id=', from, end);
    if (i < 0) return null;
    const id = valueAt(text, i, end);
    if (id === '') return null;
    const p = fieldIn(text, 'peer=', from, end);
    const r = fieldIn(text, 'remote_addr=', from, end);
    const peer = p < 0 ? null : valueAt(text, p, end);
    const remote = r < 0 ? null : valueAt(text, r, end);
    const key = `${id} ${peer ?? ''} ${remote ?? ''}`;
    let ref = this.byKey.get(key);
    if (ref === undefined) {
      if (this.byKey.size >= MAX_CACHED_CONNECTIONS) this.byKey.clear();
      // Copies: the values are slices of a chunk string, which they would keep alive.
      ref = { id: Buffer.from(id).toString(), peer: copy(peer), remote: copy(remote) };
      this.byKey.set(`${ref.id} ${ref.peer ?? ''} ${ref.remote ?? ''}`, ref);
    }
    return ref;
  }
}

/**
 * Where a Compact line's span fields start (the space before them): the first `id=`, `peer=` or
 * `remote_addr=` anywhere in the message, when a space precedes it; else -1. No field key occurs
 * before it, so the fields read from the tail alone are the fields read from the whole message.
 */
function compactTailStart(m: string): number {
  let t = m.indexOf('id=');
  const p = m.indexOf('peer=');
  const r = m.indexOf('remote_addr=');
  if (p >= 0 && (t < 0 || p < t)) t = p;
  if (r >= 0 && (t < 0 || r < t)) t = r;
  return t > 0 && m.charCodeAt(t - 1) === 32 ? t - 1 : -1;
}

const copy = (s: string | null): string | null => (s === null ? null : Buffer.from(s).toString());

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
        if (isWordMessage(m, 'close')) return this.lifecycle('close', rec, sink);
        break;
      case C_C:
        if (m.startsWith('Connection established')) return this.established(m, rec, sink);
        if (m.startsWith('Connection closed')) return this.closed(m, rec, sink);
        break;
    }
    return activity(this.contexts, rec, sink);
  }

  private lifecycle(phase: SpanPhase, rec: LogRecord, sink: ReactorEventSink): boolean {
    const spans = rec.spans;
    const kind = libp2pSpanAt(spans, innermostSpanStart(spans));
    if (kind === null) return false;
    // every property set up front: one object shape for all span events
    const ev: SpanEvent = {
      kind: 'span',
      span: kind,
      phase,
      busyNs: undefined,
      idleNs: undefined,
      conn: this.contexts.of(rec),
      tid: undefined,
    };
    if (phase === 'close') spanTimingInto(rec.message, ev);
    if (rec.thread !== '') ev.tid = rec.thread;
    sink.event(ev, rec);
    return true;
  }

  /** `Connection established peer=P endpoint=Listener { local_addr: A, send_back_addr: R } total_peers=N` */
  private established(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const p = fieldStart(m, 'peer=', 22);
    const peer = p < 0 ? null : valueAt(m, p, m.length);
    sink.event(
      {
        kind: 'connection',
        what: 'established',
        peer: copy(peer),
        remote: copy(remoteOfEndpoint(m, 22)),
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
        peer: copy(peer),
        remote: copy(remoteOfEndpoint(m, 17)),
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
