/**
 * The fast tracing fmt parser (src/parse/envelope-tracing-fmt.ts: jumps between structure chars
 * with indexOf, remembers contexts it has split) against the char-by-char parser it replaced
 * (tracing-fmt-reference.ts): on every input both must return the same and leave the same record.
 * Lines are fed in sequences, as a log feeds them, so the fast parser's remembered contexts are
 * hit, nearly hit (same context, other message; one char changed) and replaced.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ENVELOPES } from '../../src/parse/envelopes.js';
import { forgetContexts } from '../../src/parse/envelope-tracing-fmt.js';
import { newRecord, type LogRecord } from '../../src/parse/record.js';
import { PartialTimeContext } from '../../src/parse/timestamp.js';
import { ROOT } from '../helpers.js';
import { tracingFullReference } from './tracing-fmt-reference.js';

const fast = ENVELOPES.find((e) => e.id === 'tracing_fmt')!;
const FIELDS = ['sec', 'nsec', 'digits', 'hasTime', 'level', 'target', 'thread', 'spans', 'message'] as const;

/**
 * Parses each line with both parsers (records reused, as the assembler reuses them); returns the
 * first difference. The fast parser starts with no remembered context unless `keepContexts`.
 * Also holds the fast parser to its spansId promise: one number, one spans string.
 */
function firstDifference(lines: readonly string[], keepContexts = false): string | null {
  if (!keepContexts) forgetContexts();
  const ref = newRecord();
  const got = newRecord();
  const ctxRef = new PartialTimeContext(new Date('2024-03-05T00:00:00Z'));
  const ctxGot = new PartialTimeContext(new Date('2024-03-05T00:00:00Z'));
  const spansById = new Map<number, string>();
  for (const line of lines) {
    const a = tracingFullReference.parse(line, ref, ctxRef);
    const b = fast.parse(line, got, ctxGot);
    if (b && got.spansId >= 0) {
      const known = spansById.get(got.spansId);
      if (known !== undefined && known !== got.spans)
        return `${JSON.stringify(line)}: spansId ${got.spansId} was ${JSON.stringify(known)}, now ${JSON.stringify(got.spans)}`;
      spansById.set(got.spansId, got.spans);
    }
    const fields = FIELDS.filter((k) => ref[k] !== got[k]);
    if (a !== b || fields.length > 0) {
      const show = (r: LogRecord) => JSON.stringify(Object.fromEntries(fields.map((k) => [k, r[k]])));
      return `${JSON.stringify(line)}: reference ${a} ${show(ref)}, fast ${b} ${show(got)}`;
    }
  }
  return null;
}

/** The line as the line reader hands it from a chunk that is not pure ASCII: one char per byte. */
const latin1 = (line: string) => Buffer.from(line, 'utf8').toString('latin1');

const timestamp = fc.constantFrom(
  '',
  '2024-03-05T17:02:11.408233Z ',
  '2024-03-05T17:02:11.408234Z ',
  '2024-03-05T17:02:12Z ',
  '2022-04-21T15:35:27.437652123-07:00 ',
  'Apr 21 22:41:09.512 ',
  '   0.123456789s ',
  '12.5s ',
);
const level = fc.constantFrom('TRACE ', 'DEBUG ', ' INFO ', ' WARN ', 'ERROR ', 'TRACE  ', 'INFO ', 'trace ');
const thread = fc.constantFrom(
  '',
  '',
  'ThreadId(07) ',
  'ThreadId(1) ',
  'ThreadId(00) ',
  'ThreadId(x) ',
  'main ',
  'tokio-runtime-worker ',
  'async-io ThreadId(02) ',
  'a=b ',
  'ThreadId(07) main ',
  'ThreadId(3) tokio-rt ',
);
/** Chars that mean something to the splitter, and a few that do not (µ is two chars when raw). */
const valueChar = fc.constantFrom(
  ...'ab_z09/.-= :{}()[]"\\\'<>|µ'.split(''),
  ': ',
  '::',
  '"a: b"',
  '{x}',
  'Some(1)',
  '[1, 2]',
  '\\"',
);
const value = fc.array(valueChar, { maxLength: 12 }).map((a) => a.join(''));
const word = fc.constantFrom(
  'wait',
  'Swarm::poll',
  'Pool::poll',
  'new_established_connection',
  'new_incoming_connection',
  'Connection::poll',
  'ConnectionHandler::poll',
  'async_io::main_loop',
  'polling',
  'tokio',
  'libp2p_swarm',
  'Poller::wait',
  'react',
  'x',
  '',
);
const field = fc.tuple(fc.constantFrom('remote_addr', 'id', 'peer', 'timeout', 'epoll_fd', 'k'), value);
const span = fc
  .tuple(word, fc.option(fc.array(field, { maxLength: 3 }), { nil: undefined }))
  .map(([name, fields]) => (fields === undefined ? name : `${name}{${fields.map(([k, v]) => `${k}=${v}`).join(' ')}}`));
const spans = fc
  .tuple(fc.array(span, { maxLength: 3 }), fc.constantFrom(':', ': ', ':'))
  .map(([list, sep]) => (list.length === 0 ? '' : list.join(sep) + ': '));
const target = fc.constantFrom(
  'polling::epoll',
  'libp2p_swarm',
  'libp2p_swarm::connection::pool',
  'libp2p_relay::behaviour::handler',
  'async_io::reactor',
  'tokio::runtime',
  'yamux',
  'relay_server',
  'relay_server::swarm',
  'mio_extra',
  'Relay',
  'a::b:c',
  'x__1',
  '_',
  'a::',
);
const message = fc.oneof(
  fc.constantFrom(
    'close time.busy=41.2µs time.idle=3.10µs',
    'new events epoll_fd=3 res=1',
    'Connection established peer=12D3KooW endpoint=Listener { local_addr: /ip4/0.0.0.0/tcp/4001 }',
    'polling::epoll: wait: epoll_fd=3',
    'tokio: x',
    'libp2p_swarm::x: y',
    'wait: x',
    'event=NewListenAddr { listener_id: ListenerId(1), address: "/ip4/10.0.3.7/tcp/4001" }',
    '',
    ':',
    ': x',
    'yamux::connection::stream: x',
    'hyper: y',
    'async_std::task: z',
    'netlink_proto: q',
    'multistream_select: r',
    'mio::poll: s',
    'libp2p: t',
    'tracing: u',
    'async_io: v',
  ),
  value,
);
/** A line: generated parts joined; the target ends with ':' at the end of the line when the message is empty. */
const generatedLine = fc
  .tuple(timestamp, level, thread, spans, target, message)
  .map(([t, l, th, sp, tg, m]) => `${t}${l}${th}${sp}${tg}:${m === '' ? '' : ' ' + m}`);

const realLines = (() => {
  const out: string[] = [];
  const dirs = ['samples', 'test/real-relay-tokio/fixtures', 'test/real-relay/fixtures', 'test/fixtures/seed'];
  for (const dir of dirs) {
    const full = path.join(ROOT, dir);
    for (const name of readdirSync(full).filter((n) => n.endsWith('.log'))) {
      const lines = readFileSync(path.join(full, name), 'utf8').split('\n');
      out.push(...lines.slice(0, 400).filter((l) => l !== '' && !l.startsWith('{')));
    }
  }
  return out;
})();

/** A line with a few chars inserted, deleted or replaced (structure chars mostly). */
const mutated = (base: fc.Arbitrary<string>) =>
  fc
    .tuple(base, fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 1, 2), valueChar), { minLength: 1, maxLength: 4 }))
    .map(([line, edits]) => {
      let s = line;
      for (const [at, kind, c] of edits) {
        const k = at % (s.length + 1);
        if (kind === 0) s = s.slice(0, k) + c + s.slice(k);
        else if (kind === 1) s = s.slice(0, k) + s.slice(k + 1);
        else s = s.slice(0, k) + c + s.slice(k + 1);
      }
      return s;
    });

const anyLine = fc.oneof(
  { weight: 4, arbitrary: generatedLine },
  { weight: 3, arbitrary: mutated(generatedLine) },
  { weight: 2, arbitrary: fc.constantFrom(...realLines) },
  { weight: 2, arbitrary: mutated(fc.constantFrom(...realLines)) },
);

/**
 * Sequences that repeat lines and their contexts as a log does: the same line again, the text
 * before one of its ": " with another message (after ": ", or glued on after ':'), the line
 * without its thread prefix, or with one added after the level.
 */
const sequence = fc
  .tuple(
    fc.array(anyLine, { minLength: 1, maxLength: 12 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 }), fc.nat(), message, thread), { maxLength: 30 }),
  )
  .map(([pool, picks]) => {
    const out: string[] = [];
    for (const [k, kind, at, msg, prefix] of picks) {
      const line = pool[k % pool.length];
      const cuts = [...line.matchAll(/: /g)].map((m) => m.index);
      const cut = cuts.length === 0 ? -1 : cuts[at % cuts.length];
      if (kind === 1 && cut >= 0) out.push(`${line.slice(0, cut)}: ${msg}`);
      else if (kind === 2 && cut >= 0) out.push(`${line.slice(0, cut)}:${msg}`);
      else if (kind === 3) out.push(line.replace(/ (ThreadId\(\d+\)|main|[a-z]+-[a-z-]+) /, ' '));
      else if (kind === 4) out.push(line.replace(/(TRACE|DEBUG|INFO|WARN|ERROR) +/, `$1 ${prefix}`));
      else out.push(line);
    }
    return out;
  });

describe('tracing fmt: fast parser = reference parser', () => {
  it('on every line of the repository’s tracing fixtures, decoded and raw', () => {
    expect(realLines.length).toBeGreaterThan(1000);
    expect(firstDifference(realLines)).toBeNull();
    expect(firstDifference(realLines.map(latin1))).toBeNull();
    // Every line twice in a row: the second is split from the remembered context.
    expect(firstDifference(realLines.flatMap((l) => [l, l]))).toBeNull();
    // Contexts remembered from the decoded lines, met again in raw ones.
    expect(firstDifference(realLines.map(latin1), true)).toBeNull();
    // Repeated contexts are numbered (what the parse worker keys its string table on).
    const rec = newRecord();
    const ctx = new PartialTimeContext(new Date(0));
    const numbered = realLines.filter((l) => fast.parse(l, rec, ctx) && rec.spansId >= 0).length;
    expect(numbered).toBeGreaterThan(realLines.length / 4);
  });

  test.prop([sequence], { numRuns: 400 })('on generated and mutated lines in sequence', (lines) => {
    expect(firstDifference(lines)).toBeNull();
  });

  test.prop([sequence], { numRuns: 200 })('on the same lines raw (latin1, µ as two chars)', (lines) => {
    expect(firstDifference(lines.map(latin1))).toBeNull();
  });

  it('a remembered context followed by a known crate, by a line end, or by a changed char is split anew', () => {
    const context = '2024-03-05T17:02:11.408233Z TRACE wait{epoll_fd=3 timeout=None}: polling::epoll';
    const lines = [
      `${context}: new events`,
      `${context}: tokio::x: y`, // the message's first chunk names a known crate: `polling::epoll` is a span
      `${context}: yamux::connection::stream: y`,
      `${context}: async_std: y`,
      `${context}:x: y`, // the context's last chunk goes on
      `${context}:`,
      `${context}: polling::epoll: z`,
      context.replace('=3', '=4') + ': new events',
      context.replace('{', '(') + ': new events',
      context.replace('None}', 'None"}') + ': new events',
      '2024-03-05T17:02:11.408233Z TRACE main wait{epoll_fd=3 timeout=None}: polling::epoll: new events',
      '2024-03-05T17:02:11.408233Z TRACE ThreadId(03) wait{epoll_fd=3 timeout=None}: polling::epoll: x',
      `${context}: new events`,
    ];
    expect(firstDifference(lines)).toBeNull();
    const rec = newRecord();
    const ctx = new PartialTimeContext(new Date(0));
    expect(fast.parse(`${context}: tokio::x: y`, rec, ctx)).toBe(true);
    expect(rec).toMatchObject({ spans: 'wait{epoll_fd=3 timeout=None}: polling::epoll', target: 'tokio::x' });
  });
});
