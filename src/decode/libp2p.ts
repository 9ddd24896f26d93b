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
import { keepText, type LogRecord } from '../parse/record.js';
import {
  endsWithSpan,
  fieldStart,
  innermostSpanStart,
  intAt,
  isWordMessage,
  spanTimingInto,
  textAt,
} from './fields.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_C = 67,
  C_N = 78,
  C_P = 80,
  C_T = 84,
  C_c = 99,
  C_e = 101,
  C_l = 108,
  C_n = 110,
  C_r = 114,
  C_COLON = 58;

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

type SpanEvent = Extract<ReactorEvent, { kind: 'span' }>;

/** The innermost span's kind, if it is one of rust-libp2p's spans pollscope reads. */
export function libp2pSpanAt(spans: string, start: number): Libp2pSpan | null {
  if (start < 0) return null;
  switch (spans.charCodeAt(start)) {
    case C_P:
      return spanNamed(spans, start, 'Pool::poll') ? 'pool' : null;
    case C_C:
      if (spanNamed(spans, start, 'Connection::poll')) return 'connection';
      return spanNamed(spans, start, 'ConnectionHandler::poll') ? 'handler' : null;
    case C_N:
      return spanNamed(spans, start, 'NetworkBehaviour::poll') ? 'behaviour' : null;
    case C_n:
      if (spanNamed(spans, start, ESTABLISHED)) return 'established';
      if (spanNamed(spans, start, 'new_incoming_connection')) return 'incoming';
      return spanNamed(spans, start, 'new_outgoing_connection') ? 'outgoing' : null;
    case C_T:
      return spanNamed(spans, start, 'Transport::dial') ? 'dial' : null;
  }
  return null;
}

/**
 * libp2pSpanAt(spans, innermostSpanStart(spans)), the poll spans (no fields, last in the
 * context: most lines) read from the context's end without scanning it.
 */
export function innermostLibp2pSpan(spans: string): Libp2pSpan | null {
  const len = spans.length;
  if (
    spans.charCodeAt(len - 1) === C_l &&
    spans.charCodeAt(len - 5) === C_COLON &&
    spans.charCodeAt(len - 6) === C_COLON
  ) {
    switch (spans.charCodeAt(len - 7)) {
      case C_l:
        if (endsWithSpan(spans, 'Pool::poll')) return 'pool';
        break;
      case C_n:
        if (endsWithSpan(spans, 'Connection::poll')) return 'connection';
        break;
      case C_r:
        if (endsWithSpan(spans, 'ConnectionHandler::poll')) return 'handler';
        if (endsWithSpan(spans, 'NetworkBehaviour::poll')) return 'behaviour';
        break;
    }
  }
  return libp2pSpanAt(spans, innermostSpanStart(spans));
}

/** spanNameIs (the span at `start` is named exactly `name`), the char after the name checked first. */
function spanNamed(spans: string, start: number, name: string): boolean {
  const next = start + name.length;
  if (next < spans.length) {
    const c = spans.charCodeAt(next);
    if (c !== 123 /* { */ && (c !== 58 /* : */ || next + 1 !== spans.length)) return false;
  }
  return textAt(spans, start, name);
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

/**
 * A Compact tail seen before: the exact text it was read from (from the space before the message's
 * span fields to its end, see compactTailStart) and the ref read from it. Reading is a function of
 * that text (and of `raw`, which keepText decodes by), so a line ending in the same text names the
 * same ref.
 */
interface SeenContext {
  text: string;
  raw: boolean;
  ref: ConnectionRef;
}

/** ContextFacts.root: no connection root span; its fields in the context (Full, JSON); at the message's end (Compact). */
const NOT_ROOT = 0,
  FULL_ROOT = 1,
  COMPACT_ROOT = 2;

/**
 * What a span context alone says, the same for every line that carries it: read once per distinct
 * context (a relay repeats a few hundred at a time) instead of once per line.
 */
interface ContextFacts {
  /** innermostLibp2pSpan(context). */
  readonly kind: Libp2pSpan | null;
  /** NOT_ROOT, FULL_ROOT or COMPACT_ROOT: where the connection's fields are, if any. */
  readonly root: number;
  /** FULL_ROOT: the ref its root span's fields name, read from raw / decoded text (undefined: not yet read). */
  rawRef: ConnectionRef | null | undefined;
  decodedRef: ConnectionRef | null | undefined;
  /** Keyed by the string a line handed over (see facts()), no longer by the copy it was first read from. */
  rekeyed: boolean;
}

const NO_CONTEXT: ContextFacts = {
  kind: null,
  root: NOT_ROOT,
  rawRef: null,
  decodedRef: null,
  rekeyed: true,
};

/** Distinct span contexts whose facts are kept (a relay's connections in flight, twice each); past this the cache starts over. */
const MAX_CACHED_CONTEXTS = 1024;
/** Contexts longer than the tracing parser keeps (its CONTEXT_MAX_CHARS) are keyed by a copy only, see facts(). */
const MAX_REKEYED_CONTEXT_CHARS = 512;

/** Connection identities from span contexts and Compact message tails, one object per connection. */
export class ConnectionContexts {
  private readonly byKey = new Map<string, ConnectionRef>();
  /**
   * Facts by span context. The parsers hand out one string object per repeated context (the
   * tracing parser's context cache, the JSON parser's tail cache, the worker's string table), so
   * a lookup with it finds its own object here: its hash is cached on the string and the key
   * compares by pointer, no char read (~15 ns; ~75 ns against an equal string of another object).
   */
  private readonly byContext = new Map<string, ContextFacts>();
  /**
   * Seen Compact tails by the number in their `id=` (a hint only: a hit counts when the line
   * holds the remembered text, checked with one textAt; a reused id, a connection of another
   * run, fails that check and is read again). Keyed on a short number instead of the ~130-char
   * text: hashing a freshly sliced key costs ~1 ns a char.
   */
  private readonly tails = new Map<number, SeenContext>();
  /** The last Compact tail hit: consecutive lines of one connection share it. */
  private lastTail: SeenContext | null = null;

  /**
   * The facts of span context `spans`. A context read for the first time is keyed by a copy
   * (its string is then a slice of the parser's 64 KiB chunk, which a key would keep alive); the
   * next line that carries it rekeys the entry to that line's string, so that lookups compare by
   * pointer: the worker's string table entry (`--jobs 2`), or the tracing parser's own kept copy
   * of the context (one per context and target: lines of other targets compare chars). Only
   * when that parser keeps no copy (a context it cannot cache) is a rekeyed key a chunk slice:
   * at worst MAX_CACHED_CONTEXTS chunks kept alive until the next clear.
   */
  facts(spans: string): ContextFacts {
    if (spans.length === 0) return NO_CONTEXT;
    const seen = this.byContext.get(spans);
    if (seen !== undefined) {
      if (!seen.rekeyed && spans.length <= MAX_REKEYED_CONTEXT_CHARS) {
        seen.rekeyed = true;
        this.byContext.delete(spans);
        this.byContext.set(spans, seen);
      }
      return seen;
    }
    const facts: ContextFacts = {
      kind: innermostLibp2pSpan(spans),
      root: rootOf(spans),
      rawRef: undefined,
      decodedRef: undefined,
      rekeyed: false,
    };
    if (this.byContext.size >= MAX_CACHED_CONTEXTS) this.byContext.clear();
    this.byContext.set(flatCopy(spans), facts);
    return facts;
  }

  /**
   * The connection whose root span `rec` is logged in, or null. `fieldsFrom`: where a Compact
   * message's span fields may start, when the caller read the message up to there and found no
   * field key before it (spanTimingInto's result for a `close`); -1 when not known.
   */
  of(rec: LogRecord, fieldsFrom = -1): ConnectionRef | null {
    // first char first: most lines' contexts are other spans, or none
    if (rec.spans.charCodeAt(0) !== C_n) return null;
    return this.connection(this.facts(rec.spans), rec, fieldsFrom);
  }

  /** of(rec, fieldsFrom) for the facts of rec.spans. */
  connection(facts: ContextFacts, rec: LogRecord, fieldsFrom: number): ConnectionRef | null {
    if (facts.root === NOT_ROOT) return null;
    const raw = rec.raw;
    if (facts.root === FULL_ROOT) {
      const ref = raw ? facts.rawRef : facts.decodedRef;
      if (ref !== undefined) return ref;
      const spans = rec.spans;
      const close = spans.indexOf('}', ESTABLISHED.length);
      const read = this.ref(spans, ESTABLISHED.length, close < 0 ? spans.length : close, raw);
      if (raw) facts.rawRef = read;
      else facts.decodedRef = read;
      return read;
    }
    // Compact: the fields are at the end of the message.
    const m = rec.message;
    if (fieldsFrom >= 0) {
      // a tail seen before right there: compactTailStart would find it there (no key before it)
      const seen = this.seenTail(m, fieldsFrom, raw);
      if (seen !== null) return seen.ref;
    }
    const t = compactTailStart(m);
    if (t < 0) return this.ref(m, 0, m.length, raw);
    const seen = this.seenTail(m, t, raw);
    if (seen !== null) return seen.ref;
    const ref = this.ref(m, 0, m.length, raw);
    if (ref === null) return null;
    // only when the tail alone names the same connection (no id=/peer= earlier in the message)
    const id = idHint(m, t);
    if (id >= 0 && this.ref(m, t, m.length, raw) === ref) {
      this.lastTail = this.remember(this.tails, id, m.slice(t), raw, ref);
    }
    return ref;
  }

  /** The Compact tail remembered that `m` holds from `t` to its end, or null. */
  private seenTail(m: string, t: number, raw: boolean): SeenContext | null {
    const last = this.lastTail;
    if (last !== null && last.raw === raw && m.length - t === last.text.length && textAt(m, t, last.text)) return last;
    const id = idHint(m, t);
    if (id < 0) return null;
    const seen = this.tails.get(id);
    if (seen === undefined || seen.raw !== raw || m.length - t !== seen.text.length || !textAt(m, t, seen.text)) {
      return null;
    }
    this.lastTail = seen;
    return seen;
  }

  private remember(
    seen: Map<number, SeenContext>,
    id: number,
    text: string,
    raw: boolean,
    ref: ConnectionRef,
  ): SeenContext {
    if (seen.size >= MAX_CACHED_CONNECTIONS) seen.clear();
    // A copy, not decoded (it is compared with lines as they come): the text is a slice of a
    // chunk string, which it would keep alive. A raw text's chars are bytes (latin1 keeps them);
    // a decoded one may hold any char (UTF-8 keeps them).
    const copy = raw ? Buffer.from(text, 'latin1').toString('latin1') : Buffer.from(text, 'utf8').toString('utf8');
    const ctx: SeenContext = { text: copy, raw, ref };
    seen.set(id, ctx);
    return ctx;
  }

  /** The ref for the fields in text[from, end); the values kept go through keepText. */
  private ref(text: string, from: number, end: number, raw: boolean): ConnectionRef | null {
    const i = fieldIn(text, 'id=', from, end);
    if (i < 0) return null;
    const idText = valueAt(text, i, end);
    if (idText === '') return null;
    const p = fieldIn(text, 'peer=', from, end);
    const r = fieldIn(text, 'remote_addr=', from, end);
    const id = keepText(idText, raw);
    const peer = p < 0 ? null : keepText(valueAt(text, p, end), raw);
    const remote = r < 0 ? null : keepText(valueAt(text, r, end), raw);
    // Values hold no spaces (valueAt stops there); '-' for an absent field and '=' before a
    // present one keep `peer=` with an empty value apart from no `peer=` at all.
    const key = `${id} ${peer === null ? '-' : '=' + peer} ${remote === null ? '-' : '=' + remote}`;
    let ref = this.byKey.get(key);
    if (ref === undefined) {
      if (this.byKey.size >= MAX_CACHED_CONNECTIONS) this.byKey.clear();
      ref = { id, peer, remote };
      this.byKey.set(key, ref);
    }
    return ref;
  }
}

/**
 * The number in the first `id=` field (after a space or `{`) at or after `from`, as a cache
 * hint; -1 when there is none or it is not a plain number of at most 15 digits.
 */
function idHint(text: string, from: number): number {
  const p = fieldIn(text, 'id=', from, text.length);
  if (p < 0) return -1;
  let v = 0;
  let i = p;
  for (; i < text.length && i - p < 16; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  return i === p || i - p > 15 ? -1 : v;
}

/** Where a context's connection fields are: NOT_ROOT, FULL_ROOT (`new_established_connection{…}…`) or COMPACT_ROOT (the name alone). */
function rootOf(spans: string): number {
  if (spans.charCodeAt(0) !== C_n || !textAt(spans, 0, ESTABLISHED)) return NOT_ROOT;
  const c = spans.charCodeAt(ESTABLISHED.length);
  if (c === 123 /* { */) return FULL_ROOT;
  // another span whose name merely starts so, unless the name ends there
  return c === C_COLON || Number.isNaN(c) ? COMPACT_ROOT : NOT_ROOT;
}

/**
 * A copy of `s` that keeps no string it was sliced from alive: the concatenation is flattened
 * into a fresh string when hashed (exact for any char, raw or decoded).
 */
function flatCopy(s: string): string {
  return (' ' + s).slice(1);
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
    const facts = this.contexts.facts(rec.spans);
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
    ev.conn = this.contexts.connection(facts, rec, phase === 'close' ? spanTimingInto(rec.message, ev) : -1);
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
        peer: peer === null ? null : keepText(peer, rec.raw),
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
