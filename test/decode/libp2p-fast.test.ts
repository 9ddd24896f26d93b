/**
 * The libp2p decoder's fast paths (cached connection contexts, the innermost span read from the
 * context's end, a close's timing read where FmtSpan writes it) against the plain reading they
 * stand for, on generated and mutated Full and Compact lines, raw (latin1) records too.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { ConnectionRef, Libp2pSpan } from '../../src/decode/events.js';
import {
  durationAt,
  endsWithSpan,
  fieldStart,
  innermostSpanStart,
  isWordMessage,
  scan,
  spanNameIs,
  spanTimingInto,
  textAt,
} from '../../src/decode/fields.js';
import { ConnectionContexts, innermostLibp2pSpan, Libp2pDecoder } from '../../src/decode/libp2p.js';
import { keptValueAt } from '../../src/decode/libp2p-contexts.js';
import { keepText, newRecord, type LogRecord } from '../../src/parse/record.js';
import { run } from './support.js';

const ESTABLISHED = 'new_established_connection';
const PEERS = [
  '12D3KooWyyHciRzTV9QF9V4PmHC3RboJCfYkCiTmzEk9KQF9ja8G',
  '12D3KooW8yAP7QKfWX5orGAJtH9eYK794Jge7WXDnFzxs1B2zLis',
];
const REMOTES = ['/ip4/12.159.221.61/tcp/64850', '/ip6/::1/tcp/4001', '/dns/exämple.org/tcp/4001'];

// ---- the plain readings (as pollscope read them before the fast paths) ----

/** A `key=value` value, up to a space, `}` or `end`. */
function plainValue(text: string, pos: number, end: number): string {
  let i = pos;
  while (i < end && text[i] !== ' ' && text[i] !== '}') i++;
  return text.slice(pos, i);
}

function plainField(text: string, key: string, from: number, end: number): number {
  for (let p = text.indexOf(key, from); p >= 0 && p < end; p = text.indexOf(key, p + key.length)) {
    if (text[p - 1] === ' ' || text[p - 1] === '{') return p + key.length;
  }
  return -1;
}

function plainFields(text: string, from: number, end: number, raw: boolean): ConnectionRef | null {
  const i = plainField(text, 'id=', from, end);
  if (i < 0) return null;
  const id = plainValue(text, i, end);
  if (id === '') return null;
  const p = plainField(text, 'peer=', from, end);
  const r = plainField(text, 'remote_addr=', from, end);
  return {
    id: keepText(id, raw),
    peer: p < 0 ? null : keepText(plainValue(text, p, end), raw),
    remote: r < 0 ? null : keepText(plainValue(text, r, end), raw),
  };
}

/** The connection of a record: Full/JSON from the root span's fields, Compact from the whole message. */
function plainConnection(rec: LogRecord): ConnectionRef | null {
  const spans = rec.spans;
  if (!spans.startsWith(ESTABLISHED)) return null;
  const c = spans[ESTABLISHED.length];
  if (c === '{') {
    const close = spans.indexOf('}', ESTABLISHED.length);
    return plainFields(spans, ESTABLISHED.length, close < 0 ? spans.length : close, rec.raw);
  }
  if (c !== ':' && c !== undefined) return null;
  return plainFields(rec.message, 0, rec.message.length, rec.raw);
}

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

function plainInnermostKind(spans: string): Libp2pSpan | null {
  const start = innermostSpanStart(spans);
  return SPAN_NAMES.find(([name]) => spanNameIs(spans, start, name))?.[1] ?? null;
}

function plainTiming(m: string): { busyNs?: number; idleNs?: number } {
  const ev: { busyNs?: number; idleNs?: number } = {};
  const b = fieldStart(m, 'time.busy=', 5);
  if (b >= 0) {
    const v = durationAt(m, b);
    if (!Number.isNaN(v)) ev.busyNs = v;
  }
  const i = fieldStart(m, 'time.idle=', b >= 0 ? scan.end : 5);
  if (i >= 0) {
    const v = durationAt(m, i);
    if (!Number.isNaN(v)) ev.idleNs = v;
  }
  return ev;
}

/** durationAt as it was (each char read by its own charCodeAt), with where it stopped. */
function plainDurationAt(text: string, pos: number): { ns: number; end: number } {
  let end: number;
  if (text.charCodeAt(pos) === 34) pos++;
  let whole = 0;
  let i = pos;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    whole = whole * 10 + (c - 48);
  }
  if (i === pos) {
    end = pos;
    return { ns: NaN, end };
  }
  let frac = 0;
  let fracScale = 1;
  if (text.charCodeAt(i) === 46) {
    i++;
    const f0 = i;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      frac = frac * 10 + (c - 48);
      fracScale *= 10;
    }
    if (i === f0) {
      end = i;
      return { ns: NaN, end };
    }
  }
  const u = text.charCodeAt(i);
  let unit: number;
  if (u === 115 /* s */) {
    unit = 1_000_000_000;
    i += 1;
  } else if (
    // a raw record's `µs` / `μs`: the sign's two UTF-8 bytes as two chars (LogRecord.raw)
    ((u === 0xc2 && text.charCodeAt(i + 1) === 0xb5) || (u === 0xce && text.charCodeAt(i + 1) === 0xbc)) &&
    text.charCodeAt(i + 2) === 115
  ) {
    unit = 1_000;
    i += 3;
  } else if (text.charCodeAt(i + 1) !== 115) {
    end = i;
    return { ns: NaN, end };
  } else if (u === 110 /* n */) {
    unit = 1;
    i += 2;
  } else if (u === 0xb5 /* µ MICRO SIGN */ || u === 0x3bc /* μ GREEK MU */ || u === 117 /* u */) {
    unit = 1_000;
    i += 2;
  } else if (u === 109 /* m */) {
    unit = 1_000_000;
    i += 2;
  } else {
    end = i;
    return { ns: NaN, end };
  }
  end = i;
  return { ns: whole * unit + Math.round((frac * unit) / fracScale), end };
}

// ---- generated lines ----

const rawText = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** Inserts, deletes or replaces a few chars, structure chars mostly. */
const mutated = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(
      base,
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.nat(3),
          fc.string({
            unit: fc.constantFrom(' ', '=', '{', '}', ':', 'i', 'd', 'p', 'e', 'r', '1', 'µ', 's'),
            maxLength: 4,
          }),
        ),
        { maxLength: 3 },
      ),
    )
    .map(([s, edits]) => {
      let out = s;
      for (const [at, del, ins] of edits) {
        const p = at % (out.length + 1);
        out = out.slice(0, p) + ins + out.slice(p + del);
      }
      return out;
    });

const fieldsArb = fc
  .tuple(fc.constantFrom('1', '2', '3', '12', '01'), fc.constantFrom(...PEERS), fc.constantFrom(...REMOTES), fc.nat(5))
  .map(([id, peer, remote, order]) => {
    const f = [`remote_addr=${remote}`, `id=${id}`, `peer=${peer}`];
    if (order === 1) f.reverse();
    if (order === 2) f.splice(2, 1); // no peer yet
    if (order === 3) f.splice(0, 1);
    return f.join(' ');
  });

const INNER = ['', ':Connection::poll', ':Connection::poll:ConnectionHandler::poll', ':NetworkBehaviour::poll'];
const TIMING = ['close time.busy=3.04µs time.idle=374ns', 'close time.busy=21.0µs time.idle=1.2ms', 'close', 'enter'];

/** A Full (fields in the root span) or Compact (fields at the end of the message) record. */
const recordArb = fc
  .tuple(
    fc.boolean(),
    fieldsArb,
    fc.constantFrom(...INNER),
    fc.constantFrom(...TIMING),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
  )
  .chain(([full, fields, inner, timing, raw, mutateSpans, mutateMessage]) => {
    const spans = full ? `${ESTABLISHED}{${fields}}${inner}` : `${ESTABLISHED}${inner}`;
    const message = full ? timing : `${timing} ${fields}`;
    return fc
      .tuple(
        mutateSpans ? mutated(fc.constant(spans)) : fc.constant(spans),
        mutateMessage ? mutated(fc.constant(message)) : fc.constant(message),
      )
      .map(([s, m]) => {
        const r = newRecord();
        r.target = 'libp2p_swarm::connection';
        r.raw = raw;
        r.spans = raw ? rawText(s) : s;
        r.message = raw ? rawText(m) : m;
        return r;
      });
  });

/** Records, each a few edits away from one of a few connections' lines: cache hits and near misses. */
const nearRecordsArb = fc
  .tuple(
    fc.array(recordArb, { minLength: 1, maxLength: 4 }),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.nat(2),
        fc.nat(),
        fc.string({ unit: fc.constantFrom(' ', '=', '}', 'i', 'd', '1', 'x'), maxLength: 2 }),
      ),
      {
        minLength: 1,
        maxLength: 30,
      },
    ),
  )
  .map(([bases, picks]) =>
    picks.map(([which, what, at, ins]) => {
      const base = bases[which % bases.length];
      const r = newRecord();
      Object.assign(r, base);
      // 0: as it was; 1: the context edited; 2: the message edited
      if (what === 1)
        r.spans = r.spans.slice(0, at % (r.spans.length + 1)) + ins + r.spans.slice(at % (r.spans.length + 1));
      if (what === 2) {
        const p = at % (r.message.length + 1);
        r.message = r.message.slice(0, p) + ins + r.message.slice(p);
      }
      return r;
    }),
  );

/** What the decoder passes of(): where a close's timing ended. */
const fieldsFrom = (rec: LogRecord): number =>
  isWordMessage(rec.message, 'close') ? spanTimingInto(rec.message, {}) : -1;

describe('ConnectionContexts.of, cached, against the plain reading', () => {
  test.prop([fc.array(recordArb, { minLength: 1, maxLength: 40 })], { numRuns: 400 })(
    'every record of a sequence names the connection its own text names',
    (recs) => {
      const contexts = new ConnectionContexts();
      for (const r of recs) {
        expect(contexts.of(r, fieldsFrom(r))).toEqual(plainConnection(r));
        expect(contexts.of(r)).toEqual(plainConnection(r));
      }
    },
  );

  test.prop([nearRecordsArb], { numRuns: 400 })('records a char away from a remembered one are read again', (recs) => {
    const contexts = new ConnectionContexts();
    for (const r of recs) expect(contexts.of(r, fieldsFrom(r))).toEqual(plainConnection(r));
  });

  it('a Compact message with more after a remembered tail is read again', () => {
    const contexts = new ConnectionContexts();
    const r = newRecord();
    r.spans = `${ESTABLISHED}:Connection::poll`;
    r.message = `close time.busy=1.00µs time.idle=2.00µs remote_addr=/ip4/10.0.0.1/tcp/1 id=3 peer=${PEERS[0]}`;
    expect(contexts.of(r, fieldsFrom(r))?.peer).toBe(PEERS[0]);
    r.message += 'x';
    expect(contexts.of(r, fieldsFrom(r))?.peer).toBe(`${PEERS[0]}x`);
    r.message += ' id=4';
    expect(contexts.of(r, fieldsFrom(r))?.id).toBe('3');
  });

  it('a connection id reused by another peer (a relay restart) is read again, Full and Compact', () => {
    const contexts = new ConnectionContexts();
    const full = (peer: string): LogRecord => {
      const r = newRecord();
      r.spans = `${ESTABLISHED}{remote_addr=/ip4/10.0.0.1/tcp/1 id=7 peer=${peer}}:Connection::poll`;
      r.message = 'close time.busy=1.00µs time.idle=2.00µs';
      return r;
    };
    const compact = (peer: string): LogRecord => {
      const r = newRecord();
      r.spans = `${ESTABLISHED}:Connection::poll`;
      r.message = `close time.busy=1.00µs time.idle=2.00µs remote_addr=/ip4/10.0.0.1/tcp/1 id=7 peer=${peer}`;
      return r;
    };
    for (const make of [full, compact]) {
      const a = make(PEERS[0]);
      const b = make(PEERS[1]);
      expect(contexts.of(a, fieldsFrom(a))?.peer).toBe(PEERS[0]);
      expect(contexts.of(b, fieldsFrom(b))?.peer).toBe(PEERS[1]);
      expect(contexts.of(a, fieldsFrom(a))?.peer).toBe(PEERS[0]);
      expect(contexts.of(b)).toEqual({ id: '7', peer: PEERS[1], remote: '/ip4/10.0.0.1/tcp/1' });
    }
  });

  it('`peer=` with an empty value is not a missing peer (fast-check seed 793737996)', () => {
    // A Compact line without a peer, then a Full context of the same id whose `peer=` is empty:
    // both read through one identity cache, which once keyed them alike.
    const contexts = new ConnectionContexts();
    const compact = newRecord();
    compact.target = 'libp2p_swarm::connection';
    compact.spans = ESTABLISHED;
    compact.message = 'close rremote_addr=/ip6/::1/tcp/4001 id=12';
    const full = newRecord();
    full.target = 'libp2p_swarm::connection';
    full.spans = `${ESTABLISHED}{id=12 peer= ${PEERS[0]}}:Connection::poll`;
    full.message = 'enter';
    full.raw = true;
    expect(contexts.of(compact)).toEqual({ id: '12', peer: null, remote: null });
    expect(contexts.of(full)).toEqual({ id: '12', peer: '', remote: null });
    expect(contexts.of(compact)).toEqual({ id: '12', peer: null, remote: null });
  });

  it('a Compact message with an id= before its span fields is read whole, not from a remembered tail', () => {
    const contexts = new ConnectionContexts();
    const line = (message: string): LogRecord => {
      const r = newRecord();
      r.spans = `${ESTABLISHED}:Connection::poll`;
      r.message = message;
      return r;
    };
    const tail = ` remote_addr=/ip4/10.0.0.1/tcp/1 id=3 peer=${PEERS[0]}`;
    const plain = line(`close time.busy=1.00µs time.idle=2.00µs${tail}`);
    expect(contexts.of(plain, fieldsFrom(plain))?.id).toBe('3');
    const other = line(`stream id=9 reset${tail}`);
    expect(contexts.of(other)?.id).toBe('9');
    expect(contexts.of(other)).toEqual(plainConnection(other));
  });

  it('raw records keep decoded text: the same connection as its UTF-8 line, and µ timings read', () => {
    const line = `2026-11-30T06:27:58.429250Z DEBUG ${ESTABLISHED}{remote_addr=/dns/exämple.org/tcp/4001 id=1 peer=${PEERS[0]}}:Connection::poll: libp2p_swarm::connection: close time.busy=8.89µs time.idle=290ns`;
    const decoded = newRecord();
    decoded.target = 'libp2p_swarm::connection';
    decoded.spans = line.slice(34, line.indexOf(': libp2p_swarm'));
    decoded.message = 'close time.busy=8.89µs time.idle=290ns';
    const raw = newRecord();
    raw.target = decoded.target;
    raw.raw = true;
    raw.spans = rawText(decoded.spans);
    raw.message = rawText(decoded.message);
    expect(raw.spans).not.toBe(decoded.spans);
    const d = new Libp2pDecoder();
    const want = {
      kind: 'span',
      span: 'connection',
      phase: 'close',
      busyNs: 8_890,
      idleNs: 290,
      conn: { id: '1', peer: PEERS[0], remote: '/dns/exämple.org/tcp/4001' },
      tid: undefined,
    };
    expect(run(d, raw).events).toEqual([want]);
    expect(run(d, decoded).events).toEqual([want]);
    expect(run(d, raw).events).toEqual([want]);
  });

  it('a raw context and a decoded one of the same chars are different texts (Ã¤ decoded, or ä raw)', () => {
    const contexts = new ConnectionContexts();
    const make = (raw: boolean, compact: boolean): LogRecord => {
      const r = newRecord();
      r.raw = raw;
      const fields = `remote_addr=/dns/exÃ¤mple.org/tcp/1 id=5 peer=${PEERS[0]}`;
      r.spans = compact ? `${ESTABLISHED}:Connection::poll` : `${ESTABLISHED}{${fields}}:Connection::poll`;
      r.message = compact
        ? `close time.busy=1.00µs time.idle=2.00µs ${fields}`
        : 'close time.busy=1.00µs time.idle=2.00µs';
      return r;
    };
    for (const compact of [false, true]) {
      for (const raw of [false, true, false, true]) {
        const r = make(raw, compact);
        expect(contexts.of(r, fieldsFrom(r))?.remote).toBe(raw ? '/dns/exämple.org/tcp/1' : '/dns/exÃ¤mple.org/tcp/1');
      }
    }
  });

  it('a decoded context with chars past U+00FF is remembered as it is (not cut to bytes)', () => {
    const contexts = new ConnectionContexts();
    for (const compact of [false, true]) {
      const make = (remote: string): LogRecord => {
        const r = newRecord();
        const fields = `remote_addr=${remote} id=6 peer=${PEERS[1]}`;
        r.spans = compact ? `${ESTABLISHED}:Connection::poll` : `${ESTABLISHED}{${fields}}:Connection::poll`;
        r.message = compact
          ? `close time.busy=1.00µs time.idle=2.00µs ${fields}`
          : 'close time.busy=1.00µs time.idle=2.00µs';
        return r;
      };
      for (const remote of ['/dns/Ā.org/tcp/1', '/dns/\u0000.org/tcp/1', '/dns/Ā.org/tcp/1']) {
        const r = make(remote);
        expect(contexts.of(r, fieldsFrom(r))?.remote).toBe(remote);
      }
    }
  });

  it('raw Connection established / closed events keep decoded peer and address', () => {
    const r = newRecord();
    r.target = 'libp2p_swarm';
    r.raw = true;
    r.message = rawText(
      `Connection established peer=${PEERS[1]} endpoint=Dialer { address: /dns/exämple.org/tcp/4001, role_override: Dialer } total_peers=2`,
    );
    expect(run(new Libp2pDecoder(), r).events).toEqual([
      {
        kind: 'connection',
        what: 'established',
        peer: PEERS[1],
        remote: '/dns/exämple.org/tcp/4001',
        totalPeers: 2,
        error: false,
      },
    ]);
  });
});

describe('ConnectionContexts.facts: one reading per span context, against the plain reading', () => {
  const contextArb = fc
    .tuple(fc.boolean(), fieldsArb, fc.constantFrom(...INNER, ':Pool::poll', ''), fc.boolean())
    .chain(([full, fields, inner, mutate]) => {
      const spans = full ? `${ESTABLISHED}{${fields}}${inner}` : `${ESTABLISHED}${inner}`;
      const base = fc.constantFrom(spans, `Swarm::poll${inner}`, `new_incoming_connection{${fields}}`, inner.slice(1));
      return mutate ? mutated(base) : base;
    });

  // Lines hand over the same string object for a repeated context (the parsers' caches), or an
  // equal string of another object, raw or decoded: the cache's first key is a copy, then the
  // string a line handed over (facts()); none of that may change what a line reads.
  test.prop(
    [
      fc.array(contextArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.boolean(), fc.constantFrom(...TIMING)), {
        minLength: 1,
        maxLength: 40,
      }),
    ],
    { numRuns: 500 },
  )('every record reads its own context, whichever string object carries it', (contexts, picks) => {
    const cache = new ConnectionContexts();
    for (const [which, sameObject, raw, message] of picks) {
      const text = contexts[which % contexts.length];
      const r = newRecord();
      r.target = 'libp2p_swarm::connection';
      r.raw = raw;
      const spans = raw ? rawText(text) : text;
      r.spans = sameObject ? spans : (' ' + spans).slice(1);
      r.spansId = sameObject ? (which % contexts.length) * 2 + (raw ? 1 : 0) : -1; // a string fit to keep, or not
      r.message = raw ? rawText(message) : message;
      expect(cache.facts(r.spans, r.spansId).kind).toBe(plainInnermostKind(r.spans));
      expect(cache.of(r, fieldsFrom(r))).toEqual(plainConnection(r));
      expect(cache.of(r)).toEqual(plainConnection(r));
    }
  });

  it('past the contexts it keeps, the cache starts over and reads them again', () => {
    const cache = new ConnectionContexts();
    const full = (id: number): LogRecord => {
      const r = newRecord();
      r.spans = `${ESTABLISHED}{remote_addr=/ip4/10.0.${id >> 8}.${id & 255}/tcp/1 id=${id} peer=${PEERS[id & 1]}}:Connection::poll`;
      r.message = 'close time.busy=1.00µs time.idle=2.00µs';
      return r;
    };
    for (let round = 0; round < 2; round++) {
      for (let id = 0; id < 3000; id += round + 1) {
        const r = full(id);
        expect(cache.facts(r.spans, -1).kind).toBe('connection');
        expect(cache.of(r)).toEqual(plainConnection(r));
      }
    }
  });
});

describe('durationAt against its plain reading', () => {
  const durationArb = mutated(
    fc
      .tuple(
        fc.constantFrom('', '"'),
        fc.constantFrom('0', '3', '21', '999', '18446744073709551615'),
        fc.constantFrom('', '.', '.0', '.04', '.999073677'),
        fc.constantFrom('s', 'ms', 'µs', 'μs', 'us', 'ns', 'Âµs', 'Î¼s', 'x', ''),
        fc.constantFrom('', ' ', 's', '"', ' time.idle=1ns'),
      )
      .map((parts) => parts.join('')),
  );
  test.prop([durationArb, fc.nat(3)], { numRuns: 5000 })('the same value and the same end', (text, pos) => {
    const ns = durationAt(text, pos);
    expect({ ns, end: scan.end }).toEqual(plainDurationAt(text, pos));
  });
});

/** keepText as it read before its ASCII fast path: a Buffer round trip for every string. */
const plainKeepText = (s: string, raw: boolean): string =>
  raw ? Buffer.from(s, 'latin1').toString('utf8') : Buffer.from(s, 'utf8').toString('utf8');

describe('kept values (ASCII copied as is) against the Buffer round trip', () => {
  const textArb = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', '1', '/', ' ', '}', '=', 'ä', 'µ', '\u0000', '\u007f', '\u0080') }),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
  );
  test.prop([textArb, fc.boolean(), fc.nat(), fc.nat()], { numRuns: 3000 })(
    'keepText = the round trip, keptValueAt = the round trip of plainValue',
    (text0, raw, a, b) => {
      // a raw record's chars are bytes
      const text = raw ? rawText(text0) : text0;
      expect(keepText(text, raw)).toBe(plainKeepText(text, raw));
      const pos = a % (text.length + 1);
      const end = pos + (b % (text.length - pos + 1));
      expect(keptValueAt(text, pos, end, raw)).toBe(plainKeepText(plainValue(text, pos, end), raw));
    },
  );
});

describe('innermost span and timing fast paths', () => {
  const spansArb = mutated(
    fc
      .array(
        fc.constantFrom(
          'Swarm::poll',
          'Pool::poll',
          'Connection::poll',
          'ConnectionHandler::poll',
          'NetworkBehaviour::poll',
          `${ESTABLISHED}{remote_addr=/ip6/::1/tcp/1 id=1}`,
          'new_incoming_connection{id=2}',
          'Transport::dial{address=/ip4/1.2.3.4/tcp/1}',
          'poll',
        ),
        { maxLength: 4 },
      )
      .map((a) => a.join(':')),
  );

  test.prop([spansArb], { numRuns: 3000 })('innermostLibp2pSpan = libp2pSpanAt at innermostSpanStart', (spans) => {
    expect(innermostLibp2pSpan(spans)).toBe(plainInnermostKind(spans));
    for (const name of ['Swarm::poll', 'Connection::poll', 'Pool::poll']) {
      if (endsWithSpan(spans, name)) expect(spanNameIs(spans, innermostSpanStart(spans), name)).toBe(true);
    }
  });

  test.prop(
    [
      fc.string({ unit: fc.constantFrom('a', 'b', ':', ' '), maxLength: 12 }),
      fc.integer({ min: -2, max: 14 }),
      fc.string({ unit: fc.constantFrom('a', 'b', ':'), maxLength: 50 }),
    ],
    { numRuns: 3000 },
  )('textAt = startsWith at a position inside the text', (text, pos, w) => {
    // (startsWith moves a position outside the text to its nearer end)
    expect(textAt(text, pos, w)).toBe(pos >= 0 && pos <= text.length && text.startsWith(w, pos));
    expect(textAt(text + w + text, text.length, w)).toBe(true);
  });

  const closeArb = mutated(
    fc
      .tuple(
        fc.constantFrom('3.04µs', '21ns', '1.5ms', '2s', '0ns', '7.10μs', 'x'),
        fc.constantFrom('374ns', '1.39µs', '9s', '', 'NaN'),
        fc.constantFrom('', ' remote_addr=/ip4/1.2.3.4/tcp/1 id=1', ' id=2 peer=p', ' x=1'),
      )
      .map(([b, i, tail]) => `close time.busy=${b} time.idle=${i}${tail}`),
  );

  test.prop([closeArb, fc.boolean()], { numRuns: 3000 })(
    'spanTimingInto = the fields found by fieldStart; no field key before the index it returns',
    (m0, raw) => {
      const m = raw ? rawText(m0) : m0;
      const ev: { busyNs?: number; idleNs?: number } = {};
      const end = spanTimingInto(m, ev);
      expect(ev).toEqual(plainTiming(m));
      if (m.startsWith('close time.busy=')) {
        // the decoder's own check found the layout's start: the same reading
        const known: { busyNs?: number; idleNs?: number } = {};
        expect(spanTimingInto(m, known, true)).toBe(end);
        expect(known).toEqual(ev);
      }
      if (end >= 0 && m.startsWith('close')) {
        for (const key of ['id=', 'peer=', 'remote_addr=']) {
          const k = m.indexOf(key);
          expect(k < 0 || k >= end).toBe(true);
        }
      }
    },
  );
});
