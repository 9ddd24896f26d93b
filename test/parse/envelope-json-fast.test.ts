/**
 * The tracing JSON envelope's fast path (envelope-json-fast.ts) against its reference, the
 * JSON.parse path: on real lines, on lines generated in every shape tracing-subscriber writes and
 * many it does not (key orders, escapes, unicode, numbers, nested values, missing and repeated
 * keys), and on those lines mutated (cut, spliced, padded), decoded and raw (latin1), the envelope
 * must give exactly the record JSON.parse gives, or reject the line as JSON.parse does.
 */
import { fc, test } from '@fast-check/vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTracingJsonSlow, tracingJson } from '../../src/parse/envelope-json.js';
import { parseTracingJsonFast } from '../../src/parse/envelope-json-fast.js';
import { newRecord, type LogRecord } from '../../src/parse/record.js';
import { PartialTimeContext } from '../../src/parse/timestamp.js';
import { ROOT } from '../helpers.js';

const BASE_DATE = new Date('2026-05-04T00:00:00Z');

/** The JSON lines of a file of the repository (path from its root). */
function repoJsonLines(rel: string): string[] {
  return readFileSync(path.join(ROOT, rel), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'));
}

const REAL_LINES = [
  ...repoJsonLines('test/real-relay-tokio/fixtures/stalls.json.log'),
  ...repoJsonLines('test/fixtures/real/quilkin-660.jsonl'),
];

/** The line as the reader hands it: decoded, or its UTF-8 bytes one char per byte (raw). */
function asRead(line: string, raw: boolean): string {
  return raw ? Buffer.from(line, 'utf8').toString('latin1') : line;
}

function read(
  parse: (s: string, rec: LogRecord, ctx: PartialTimeContext) => boolean,
  line: string,
  raw: boolean,
): { ok: boolean; rec: LogRecord } {
  const rec = newRecord();
  rec.raw = raw;
  const ok = parse(line, rec, new PartialTimeContext(BASE_DATE));
  return { ok, rec };
}

/** The envelope (fast path, then JSON.parse) and JSON.parse alone agree on the line. */
function expectSameAsJsonParse(line: string, raw: boolean): void {
  const s = asRead(line, raw);
  const envelope = read((l, r, c) => tracingJson.parse(l, r, c), s, raw);
  const reference = read(parseTracingJsonSlow, s, raw);
  expect(envelope.ok, s).toBe(reference.ok);
  expect(envelope.rec, s).toEqual(reference.rec);
}

describe('tracing JSON fast path on real lines', () => {
  it('takes every real line without an escape, and gives what JSON.parse gives', () => {
    let fast = 0;
    for (const line of REAL_LINES) {
      for (const raw of [false, true]) {
        const s = asRead(line, raw);
        const f = read(parseTracingJsonFast, s, raw);
        const reference = read(parseTracingJsonSlow, s, raw);
        expect(reference.ok, s).toBe(true);
        if (!line.includes('\\')) expect(f.ok, s).toBe(true);
        if (f.ok) {
          fast++;
          expect(f.rec, s).toEqual(reference.rec);
        }
      }
    }
    expect(fast).toBeGreaterThan(REAL_LINES.length); // both readings of most lines
  });

  it('reads a raw µ as JSON.parse does: the two latin1 chars of its UTF-8 bytes', () => {
    const line =
      '{"timestamp":"2026-05-04T09:00:00.000026Z","level":"DEBUG","fields":{"message":"close","time.busy":"41.0µs","time.idle":"62.0µs"},"target":"libp2p_swarm::connection::pool","span":{"id":"1","remote_addr":"/ip4/12.159.221.61/tcp/64850","name":"new_incoming_connection"},"spans":[]}';
    const s = asRead(line, true);
    const f = read(parseTracingJsonFast, s, true);
    expect(f.ok).toBe(true);
    expect(f.rec).toMatchObject({
      sec: Date.UTC(2026, 4, 4, 9) / 1000,
      nsec: 26_000,
      digits: 6,
      level: 'DEBUG',
      target: 'libp2p_swarm::connection::pool',
      message: 'close time.busy=41.0\u00c2\u00b5s time.idle=62.0\u00c2\u00b5s',
      spans: 'new_incoming_connection{id=1 remote_addr=/ip4/12.159.221.61/tcp/64850}',
      thread: '',
    });
    expect(f.rec).toEqual(read(parseTracingJsonSlow, s, true).rec);
  });

  const head = '{"timestamp":"2026-05-04T09:00:00.000043Z","level":"INFO","fields":';
  const tail = ',"target":"relay","span":{"peer":"12D3KooW","name":"conn"},"spans":[{"name":"Swarm::poll"}]}';
  it.each([
    ['an escaped quote', `${head}{"message":"a \\"b\\""}${tail}`, 'a "b"'],
    [
      'a Debug-formatted message quoting a peer id (a long string)',
      `${head}{"message":"Connection closed: Connected { peer_id: PeerId(\\"12D3KooW8yAP7QKfWX5orGAJtH9eYK794Jge7WXDnFzxs1B2zLis\\") }","total_peers":"20"}${tail}`,
      'Connection closed: Connected { peer_id: PeerId("12D3KooW8yAP7QKfWX5orGAJtH9eYK794Jge7WXDnFzxs1B2zLis") } total_peers=20',
    ],
    ['every short escape', `${head}{"message":"\\"\\\\\\/\\b\\f\\n\\r\\t."}${tail}`, '"\\/\b\f\n\r\t.'],
    ['\\u escapes, either case', `${head}{"message":"\\u0041\\u00b5\\u00B5\\ud83d\\ude00"}${tail}`, 'Aµµ😀'],
    ['a lone surrogate', `${head}{"message":"x\\ud800y"}${tail}`, 'x\ud800y'],
    [
      'an escape in a later field',
      `${head}{"message":"x","a":"1","endpoint":"Listener { addr: \\"/ip4/1.2.3.4\\" }"}${tail}`,
      'x a=1 endpoint=Listener { addr: "/ip4/1.2.3.4" }',
    ],
  ])('takes %s and reads it as JSON.parse does', (_what, line, message) => {
    // The lines are ASCII (what is not comes as \u escapes), so raw and decoded read alike.
    for (const raw of [false, true]) {
      const f = read(parseTracingJsonFast, line, raw);
      expect(f.ok).toBe(true);
      expect(f.rec.message).toBe(message);
      expectSameAsJsonParse(line, raw);
    }
  });

  it.each([
    ['an escape JSON does not have', `${head}{"message":"a\\x41"}${tail}`],
    ['a short \\u escape', `${head}{"message":"a\\u41"}${tail}`],
    ['a \\u escape with a non-hex digit', `${head}{"message":"a\\u00g1"}${tail}`],
    ['a control character after an escape', `${head}{"message":"a\\"b\u0001c"}${tail}`],
    ['an escaped closing quote and no other', `${head}{"message":"a\\"}${tail}`],
    ['a backslash at the end of the line', `${head}{"message":"a\\`],
  ])('rejects %s as JSON.parse does', (_what, line) => {
    expect(read(parseTracingJsonFast, line, false).ok).toBe(false);
    expect(read(parseTracingJsonSlow, line, false).ok).toBe(false);
  });

  it.each([
    ['a \\u escape in a key', `${head}{"mess\\u0061ge":"x"}${tail}`],
    ['a repeated field', `${head}{"message":"x","a":"1","a":"2"}${tail}`],
    ['an integer-like key (JSON.parse enumerates it first)', `${head}{"message":"x","b":"1","7":"2"}${tail}`],
    ['a nested field', `${head}{"message":"x","a":{"b":1}}${tail}`],
    ['an array field', `${head}{"message":"x","a":[1]}${tail}`],
    ['a non-string message', `${head}{"message":3}${tail}`],
    ['a raw tab in a value', `${head}{"message":"a\tb"}${tail}`],
    ['a space after a colon', `${head}{"message": "x"}${tail}`],
    ['trailing garbage', `${head}{"message":"x"}${tail}x`],
    ['a trailing CR', `${head}{"message":"x"}${tail}\r`],
    ['a repeated level in the tail', `${head}{"message":"x"}${tail.slice(0, -1)},"level":"ERROR"}`],
    ['a span list that is not a list of objects', `${head}{"message":"x"},"target":"relay","spans":["a"]}`],
    ['a timestamp with text after it', head.replace('043Z', '043Zjunk') + `{"message":"x"}${tail}`],
  ])('leaves %s to JSON.parse', (_what, line) => {
    expect(read(parseTracingJsonFast, line, false).ok).toBe(false);
    expectSameAsJsonParse(line, false);
  });

  it('reads timestamps within the second of the line before as scanIsoTimestamp does, whatever follows', () => {
    // The fast path compares `{"timestamp":"` and the second of the last `…Z` timestamp at once,
    // then reads the fraction itself: every other shape must still agree with JSON.parse.
    const fields = '","level":"INFO","fields":{"message":"x"}' + tail;
    for (const second of ['{"timestamp":"2026-05-04T09:00:07', '{"timestamp":"2026-05-04T09:00:08']) {
      const usual = second + '.000026Z' + fields;
      // Each shape right after a line of the same second (the one the fast path remembers).
      for (const rest of [
        '.5Z',
        '.Z',
        '.1234567891234Z',
        'Z',
        '.5+02:00',
        '.000026Zjunk',
        '.00a026Z',
        '.000026\\u005a',
        '.000026 Z',
        '.000026z',
        '"',
      ]) {
        for (const raw of [false, true]) {
          expectSameAsJsonParse(usual, raw);
          expectSameAsJsonParse(second + rest + fields, raw);
        }
      }
      expect(read(parseTracingJsonFast, usual, false).rec).toMatchObject({ nsec: 26_000, digits: 6 });
    }
  });

  it('keeps agreeing when more field names than it keeps come by, and takes the usual lines again', () => {
    for (let n = 0; n < 600; n++)
      expectSameAsJsonParse(`${head}{"message":"x","k${n}":"${n}","k${n}b":${n}}${tail}`, false);
    const usual = `${head}{"message":"x","time.busy":"1.00µs"}${tail}`;
    expect(read(parseTracingJsonFast, usual, false).ok).toBe(true);
    expectSameAsJsonParse(usual, false);
  });

  it('rejects what JSON.parse rejects even when the line ends in a tail it knows', () => {
    // Numbers as JSON.stringify(JSON.parse(n)) renders them: -0 → 0, 1.50e1 → 15, 1e999 → null …
    const good = `${head}{"message":"x","n":-0,"ok":true,"none":null,"f":1.50e1,"g":1e999,"h":12345678901234567890,"i":1.5e-7}${tail}`;
    expect(read(parseTracingJsonFast, good, false).ok).toBe(true);
    expect(read(parseTracingJsonFast, good, false).rec.message).toBe(
      'x n=0 ok=true none=null f=15 g=null h=12345678901234567000 i=1.5e-7',
    );
    expectSameAsJsonParse(good, false);
    for (const bad of [
      `${head}{"message":"x",}${tail}`,
      `${head}{"message":"x""n":1}${tail}`,
      `${head}{"message":"x","n":01}${tail}`,
      `${head}{"message":"x","n":-}${tail}`,
      `${head}{"message":"x","n":tru}${tail}`,
      `${head}{"message":"x"${tail}`,
      `${head.replace('INFO', 'NOPE')}{"message":"x"}${tail}`,
    ]) {
      expect(read(parseTracingJsonFast, bad, false).ok, bad).toBe(false);
      expect(read(parseTracingJsonSlow, bad, false).ok, bad).toBe(false);
    }
  });
});

// ---- generated lines ------------------------------------------------------------------------
// Each generator comes in two kinds: `nice` (the shape tracing-subscriber writes, values without
// escapes: mostly the fast path's) and hostile (anything: escapes, control characters, tokens
// JSON.parse rejects or reads non-canonically, nested values, any key).

const NICE_TEXT = [
  'close',
  'Connection established',
  '41.0µs',
  '374ns',
  '',
  'ü',
  '日本',
  '😀',
  '}',
  ']',
  ':',
  ',',
  '{x}',
  'ThreadId(7)',
  'ThreadId(x)',
  '/ip4/127.0.0.1/tcp/42156',
  '12D3KooW5oWwuPJp1xk5hdp3w8TY69aJYTZK34RPqVEPNePiSDP6',
];
const HOSTILE_TEXT = ['a"b', 'back\\slash', 'tab\there', 'ctl\u0001', '\ud800', '\u2028', '{"x":1}'];

const niceTextArb = fc.oneof(
  fc.constantFrom(...NICE_TEXT),
  fc.string({ maxLength: 10 }).map((s) => s.replace(/["\\]/g, '')),
  // eslint-disable-next-line no-control-regex -- nice text has no control characters
  fc.string({ maxLength: 4, unit: 'grapheme' }).map((s) => s.replace(/["\\\u0000-\u001f]/g, '')),
);
const hostileTextArb = fc.oneof(
  fc.constantFrom(...HOSTILE_TEXT),
  fc.string({ maxLength: 10 }),
  fc.string({ maxLength: 4, unit: 'binary' }),
);

const NICE_LITERALS = [
  'true',
  'false',
  'null',
  '0',
  '-0',
  '1.0',
  '1e5',
  '1E+2',
  '0.1e-2',
  '1e999',
  '-1e999',
  '12345678901234567890',
];
const HOSTILE_TOKENS = [
  '01',
  '1.',
  '-',
  '.5',
  'nul',
  'tru',
  '{}',
  '[]',
  '[1,"a"]',
  '{"a":1}',
  '"\\u0041"',
  '"\\"q"',
  '',
  ' 1',
];

/** Escapes JSON has (any \\u code unit, lone surrogates too), and (hostile) some it has not. */
const ESCAPES = [
  '\\"',
  '\\\\',
  '\\/',
  '\\b',
  '\\f',
  '\\n',
  '\\r',
  '\\t',
  '\\u0041',
  '\\u00b5',
  '\\u00B5',
  '\\ud83d\\ude00',
  '\\ud800',
  '\\u2028',
  '\\u0000',
];
const BAD_ESCAPES = ['\\x41', '\\u12', '\\u00g1', '\\U0041', "\\'", '\\', '\\\u0001'];

/**
 * A JSON string literal with escapes among text, short or long (the fast path reads the first 16
 * chars of a string one by one, the rest natively).
 */
function escapedTextArb(nice: boolean): fc.Arbitrary<string> {
  const part = fc.oneof(
    { weight: 3, arbitrary: niceTextArb.map((t) => JSON.stringify(t).slice(1, -1)) },
    { weight: 1, arbitrary: fc.constantFrom('Connection closed: Connected { peer_id: PeerId(', ' }, remote: ') },
    { weight: 3, arbitrary: fc.constantFrom(...ESCAPES) },
    { weight: nice ? 0 : 1, arbitrary: fc.constantFrom(...BAD_ESCAPES) },
  );
  return fc.array(part, { minLength: 1, maxLength: 6 }).map((parts) => '"' + parts.join('') + '"');
}

function valueTextArb(nice: boolean): fc.Arbitrary<string> {
  const numbers = fc.oneof(fc.integer(), fc.double(), fc.nat()).map((n) => JSON.stringify(n));
  return nice
    ? fc.oneof(
        { weight: 8, arbitrary: niceTextArb.map((t) => JSON.stringify(t)) },
        { weight: 2, arbitrary: escapedTextArb(true) },
        { weight: 2, arbitrary: numbers },
        { weight: 1, arbitrary: fc.constantFrom(...NICE_LITERALS) },
      )
    : fc.oneof(
        { weight: 4, arbitrary: hostileTextArb.map((t) => JSON.stringify(t)) },
        { weight: 2, arbitrary: escapedTextArb(false) },
        { weight: 2, arbitrary: hostileTextArb.map((t) => `"${t}"`) }, // unescaped: quotes, controls as they are
        { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_TOKENS, ...NICE_LITERALS) },
      );
}

const NICE_KEYS = ['time.busy', 'time.idle', 'peer', 'id', 'remote_addr', 'log.target', 'log.line', 'ü', 'k'];
const HOSTILE_KEYS = ['0', '12', '01', '__proto__', '', 'name', 'message', 'target', 'level', 'a"b', 'c\\d'];

function keyTextArb(nice: boolean): fc.Arbitrary<string> {
  return nice
    ? fc
        .oneof({ weight: 4, arbitrary: fc.constantFrom(...NICE_KEYS) }, { weight: 1, arbitrary: niceTextArb })
        .map((k) => JSON.stringify(k))
    : fc
        .oneof(fc.constantFrom(...HOSTILE_KEYS), hostileTextArb)
        .chain((k) => fc.constantFrom(JSON.stringify(k), `"${k}"`));
}

/** `fields`: maybe a message first, then members (repeats and any order when hostile). */
function fieldsTextArb(nice: boolean): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.option(
        nice
          ? fc.oneof(
              { weight: 4, arbitrary: niceTextArb.map((m) => JSON.stringify(m)) },
              { weight: 1, arbitrary: escapedTextArb(true) },
            )
          : valueTextArb(false),
        { nil: undefined, freq: 4 },
      ),
      fc.array(fc.tuple(keyTextArb(nice), valueTextArb(nice)), { maxLength: 4 }),
    )
    .map(([message, members]) => {
      const all = members.map(([k, v]) => k + ':' + v);
      if (message !== undefined) all.unshift('"message":' + message);
      return '{' + all.join(',') + '}';
    });
}

/** A span object: fields, then its name (tracing-subscriber writes `name` last). */
function spanTextArb(nice: boolean): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(fc.tuple(keyTextArb(nice), valueTextArb(nice)), { maxLength: 3 }),
      fc.option(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('Swarm::poll', 'new_established_connection', 'wait', '') },
          { weight: 1, arbitrary: niceTextArb },
        ),
        { nil: undefined, freq: 6 },
      ),
    )
    .map(([members, name]) => {
      const all = members.map(([k, v]) => k + ':' + v);
      if (name !== undefined) all.push('"name":' + JSON.stringify(name));
      return '{' + all.join(',') + '}';
    });
}

const NICE_TIMESTAMPS = [
  '2026-05-04T09:00:00.000026Z',
  '2026-05-04T09:00:00.000027Z',
  '2026-05-04T09:00:01Z',
  '2026-05-04T09:00:01.123456789123Z',
  '2026-05-04T09:00:00.Z',
  '2026-05-04T09:00:00.5+02:00',
  '2026-05-04 09:00:00.5Z',
  '   0.123456789s',
  '1234.5s',
  'Apr 21 22:41:09.512',
];
const HOSTILE_TIMESTAMPS = [
  '2026-13-04T09:00:00Z',
  '2026-05-04T09:00:00.000026Zjunk',
  '2026-05-04T09:00:00.0000\u00012Z',
  '',
];

/** A value that is sometimes of the wrong kind (hostile). */
function orHostile(nice: boolean, good: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return nice ? good : fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: valueTextArb(false) });
}

/** Members in tracing-subscriber's order, each there or not. */
function membersArb(nice: boolean) {
  /** There `weight` times in `weight + 1`: by default a member tracing-subscriber writes is rarely left out. */
  const opt = (a: fc.Arbitrary<string>, weight = nice ? 12 : 4) =>
    fc.oneof({ weight, arbitrary: a }, { weight: 1, arbitrary: fc.constant(undefined) });
  return fc.record({
    timestamp: opt(
      orHostile(
        nice,
        fc.constantFrom(...NICE_TIMESTAMPS, ...(nice ? [] : HOSTILE_TIMESTAMPS)).map((t) => JSON.stringify(t)),
      ),
    ),
    level: opt(
      orHostile(
        nice,
        fc.constantFrom('TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR').map((l) => `"${l}"`),
      ),
    ),
    fields: opt(orHostile(nice, fieldsTextArb(nice))),
    target: opt(
      orHostile(
        nice,
        fc.constantFrom('libp2p_swarm', 'mio::poll', 'ü::x').map((t) => `"${t}"`),
      ),
    ),
    filename: opt(valueTextArb(nice), 1),
    line_number: opt(orHostile(nice, fc.nat().map(String)), 1),
    span: opt(orHostile(nice, spanTextArb(nice)), 2),
    spans: opt(
      orHostile(
        nice,
        fc.array(spanTextArb(nice), { maxLength: 3 }).map((l) => '[' + l.join(',') + ']'),
      ),
      2,
    ),
    threadName: opt(valueTextArb(nice), 1),
    threadId: opt(orHostile(nice, fc.constantFrom('"ThreadId(7)"', '"ThreadId(12)"', '"main"')), 1),
    // A key tracing-subscriber does not write: rare in nice lines.
    other: fc.oneof(
      { weight: 1, arbitrary: fc.tuple(keyTextArb(nice), valueTextArb(nice)).map(([k, v]) => k + ':' + v) },
      { weight: nice ? 8 : 2, arbitrary: fc.constant(undefined) },
    ),
  });
}

/** A line: the members in order, or (hostile) shuffled, one maybe repeated. */
function lineArbOf(nice: boolean): fc.Arbitrary<string> {
  return fc
    .tuple(membersArb(nice), fc.array(fc.nat(), { minLength: 12, maxLength: 12 }), fc.nat())
    .map(([m, shuffle, dup]) => {
      let members = Object.entries(m)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => (k === 'other' ? (v as string) : JSON.stringify(k) + ':' + (v as string)));
      if (!nice) {
        if (dup % 2 === 0) {
          members = members
            .map((x, i) => [shuffle[i], x] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, x]) => x);
        }
        if (members.length > 0 && dup % 3 === 0) members.push(members[dup % members.length]);
      }
      return '{' + members.join(',') + '}';
    });
}

const lineArb = fc.oneof(lineArbOf(true), lineArbOf(false));

const SNIPPETS = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', '\t', '\r', 'µ', '\u0000', '"a":1', ',"x":"y"'];

/** A line cut, spliced, trimmed or padded somewhere. */
function mutated(lines: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(
      lines,
      fc.nat(),
      fc.nat({ max: 6 }),
      fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 3 })),
      fc.constantFrom('cut', 'insert', 'delete', 'replace', 'append'),
    )
    .map(([line, at, n, text, how]) => {
      const p = at % (line.length + 1);
      switch (how) {
        case 'cut':
          return line.slice(0, p);
        case 'insert':
          return line.slice(0, p) + text + line.slice(p);
        case 'delete':
          return line.slice(0, p) + line.slice(p + n + 1);
        case 'replace':
          return line.slice(0, p) + text + line.slice(p + text.length);
        default:
          return line + text;
      }
    });
}

describe('tracing JSON fast path against JSON.parse (property)', () => {
  it('the fast path takes most nice generated lines (so the properties below test it)', () => {
    let fast = 0;
    let reference = 0;
    for (const line of fc.sample(lineArbOf(true), { numRuns: 1000, seed: 42 })) {
      if (read(parseTracingJsonFast, line, false).ok) fast++;
      if (read(parseTracingJsonSlow, line, false).ok) reference++;
    }
    expect(fast).toBeGreaterThan(reference * 0.6);
  });

  it('the fast path takes most lines whose strings have escapes JSON has', () => {
    const fields = fc
      .array(fc.tuple(fc.constantFrom(...NICE_KEYS), escapedTextArb(true)), { maxLength: 3 })
      .chain((members) =>
        escapedTextArb(true).map(
          (message) => '{"message":' + message + members.map(([k, v]) => `,"${k}":${v}`).join('') + '}',
        ),
      );
    let fast = 0;
    const samples = fc.sample(fields, { numRuns: 300, seed: 7 });
    for (const f of samples) {
      const line = `{"timestamp":"2026-05-04T09:00:00.000026Z","level":"INFO","fields":${f},"target":"t","spans":[]}`;
      if (read(parseTracingJsonFast, line, false).ok) fast++;
      expectSameAsJsonParse(line, false);
      expectSameAsJsonParse(line, true);
    }
    expect(fast).toBeGreaterThan(samples.length * 0.9); // all but repeated keys
  });

  test.prop([lineArb, fc.boolean()], { numRuns: 3000 })('generated lines: same record, or both reject', (line, raw) =>
    expectSameAsJsonParse(line, raw),
  );

  test.prop([mutated(lineArb), fc.boolean()], { numRuns: 2000 })('generated lines mutated', (line, raw) =>
    expectSameAsJsonParse(line, raw),
  );

  test.prop([mutated(fc.constantFrom(...REAL_LINES)), fc.boolean()], { numRuns: 3000 })(
    'real lines mutated (their tails are in the caches: a cached tail must not vouch for a bad head)',
    (line, raw) => expectSameAsJsonParse(line, raw),
  );

  test.prop([mutated(mutated(fc.constantFrom(...REAL_LINES))), fc.boolean()], { numRuns: 1000 })(
    'real lines mutated twice',
    (line, raw) => expectSameAsJsonParse(line, raw),
  );
});
