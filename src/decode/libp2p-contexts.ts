/**
 * Where a rust-libp2p line's connection comes from (libp2p.ts has the decoders): the root span
 * `new_established_connection{remote_addr, id, peer}` in the span context (Full, JSON), or its
 * fields at the end of the message (Compact), and the innermost span's kind. One ConnectionRef
 * object per distinct connection context is handed out (cached), so the model can keep it and
 * no line allocates one; what a context alone says is read once per distinct context.
 */
import type { ConnectionRef, Libp2pSpan } from './events.js';
import { keepText, ownCopy, type LogRecord } from '../parse/record.js';
import { endsWithSpan, innermostSpanStart, textAt } from './fields.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_C = 67,
  C_N = 78,
  C_P = 80,
  C_T = 84,
  C_l = 108,
  C_n = 110,
  C_r = 114,
  C_COLON = 58;

export const ESTABLISHED = 'new_established_connection';
/** Connection contexts remembered; past this the cache starts over (refs already handed out stay valid). */
const MAX_CACHED_CONNECTIONS = 4096;

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

/**
 * A `key=value` value (no spaces in it: numbers, multiaddrs, peer ids) at `pos`, up to a space,
 * `}` or `end`, made fit to keep (keepText).
 */
export function keptValueAt(text: string, pos: number, end: number, raw: boolean): string {
  let i = pos;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 125 /* } */) break;
    i++;
  }
  return keepText(text.slice(pos, i), raw);
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
 * A connection context seen before: the exact text it was read from (a Full/JSON root span
 * `new_established_connection{…}` with its `}`, or a Compact message's field tail from the space
 * before it, see compactTailStart) and the ref read from it. Reading is a function of that text
 * (and of `raw`, which keepText decodes by), so a line holding the same text at the same place
 * names the same ref.
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

/** Connection identities from span contexts and Compact message tails, one object per connection. */
export class ConnectionContexts {
  private readonly byKey = new Map<string, ConnectionRef>();
  /**
   * Facts by span context. The parsers hand out one string object per repeated context (the
   * tracing parser's context cache, the JSON parser's tail cache, the worker's string table);
   * once an entry is keyed by such a string (facts()), a lookup with it compares by pointer, no
   * char read (~15 ns; ~75 ns against an equal string of another object: a JSON log read with
   * `--jobs 1`, whose records carry no spansId).
   */
  private readonly byContext = new Map<string, ContextFacts>();
  /**
   * Seen Compact tails by the number in their `id=` (a hint only: a hit counts when the line
   * holds the remembered text, checked with one textAt; a reused id, a connection of another
   * run, fails that check and is read again). Keyed on a short number instead of the ~130-char
   * text: hashing a freshly sliced key costs ~1 ns a char.
   */
  private readonly tails = new Map<number, SeenContext>();
  /** Full root spans by their `id=`, the same way (rootRef). */
  private readonly roots = new Map<number, SeenContext>();
  /** The last Compact tail hit: consecutive lines of one connection share it. */
  private lastTail: SeenContext | null = null;

  /**
   * The facts of span context `spans`. A context read for the first time is keyed by a copy
   * (its string may be a slice of the parser's 64 KiB chunk, which a key would keep alive); the
   * next line that carries it as a string fit to keep rekeys the entry to that string, so that
   * lookups compare by pointer. Fit to keep means `spansId >= 0` (LogRecord.spansId): the
   * tracing parser's own kept copy of the context (`--jobs 1`; one per context and target:
   * lines of other targets compare chars), or the parse worker's string table entry
   * (`--jobs 2`). A chunk slice is never a key.
   */
  facts(spans: string, spansId: number): ContextFacts {
    if (spans.length === 0) return NO_CONTEXT;
    const seen = this.byContext.get(spans);
    if (seen !== undefined) {
      if (!seen.rekeyed && spansId >= 0) {
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
    this.byContext.set(ownCopy(spans), facts);
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
    return this.connection(this.facts(rec.spans, rec.spansId), rec, fieldsFrom);
  }

  /** of(rec, fieldsFrom) for the facts of rec.spans. */
  connection(facts: ContextFacts, rec: LogRecord, fieldsFrom: number): ConnectionRef | null {
    if (facts.root === NOT_ROOT) return null;
    const raw = rec.raw;
    if (facts.root === FULL_ROOT) {
      const ref = raw ? facts.rawRef : facts.decodedRef;
      if (ref !== undefined) return ref;
      const read = this.rootRef(rec.spans, raw);
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

  /**
   * The ref a Full context's root span names. A connection's contexts (`…:Connection::poll`,
   * `…:Connection::poll:ConnectionHandler::poll`, …) share its root span: it is read once, then
   * found by its `id=` and checked with one textAt.
   */
  private rootRef(spans: string, raw: boolean): ConnectionRef | null {
    const n = ESTABLISHED.length;
    const id = idHint(spans, n);
    const seen = id >= 0 ? this.roots.get(id) : undefined;
    if (seen !== undefined && seen.raw === raw && textAt(spans, 0, seen.text)) return seen.ref;
    const close = spans.indexOf('}', n);
    if (close < 0) return this.ref(spans, n, spans.length, raw);
    const ref = this.ref(spans, n, close, raw);
    if (ref !== null && id >= 0) this.remember(this.roots, id, spans.slice(0, close + 1), raw, ref);
    return ref;
  }

  /** The Compact tail remembered that `m` holds from `t` to its end, or null. */
  private seenTail(m: string, t: number, raw: boolean): SeenContext | null {
    const last = this.lastTail;
    // the char before the end first (a peer id's, mostly): another connection's tail of the
    // same length fails there, without slicing and comparing the whole tail
    if (
      last !== null &&
      last.raw === raw &&
      m.length - t === last.text.length &&
      m.charCodeAt(m.length - 2) === last.text.charCodeAt(last.text.length - 2) &&
      textAt(m, t, last.text)
    ) {
      return last;
    }
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
    const id = keptValueAt(text, i, end, raw);
    if (id === '') return null;
    const p = fieldIn(text, 'peer=', from, end);
    const r = fieldIn(text, 'remote_addr=', from, end);
    const peer = p < 0 ? null : keptValueAt(text, p, end, raw);
    const remote = r < 0 ? null : keptValueAt(text, r, end, raw);
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
