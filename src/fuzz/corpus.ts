/**
 * Seed corpus and structure-aware input generators for the fuzz driver and the property tests:
 * real log lines from the repository (samples/, test/real-relay/fixtures/, test/fixtures/, saved
 * regressions), one example line per layout, and fast-check arbitraries that mutate them the
 * way hostile or damaged logs differ from good ones — lines cut at any byte, flipped bytes,
 * digits and separators swapped, lines of different layouts spliced, random bytes, absurd
 * timestamps (years 0000 and 9999, 1970, 20-digit fractions, huge uptimes and span timings).
 *
 * Dev only: imports fast-check (a dev dependency). The fuzz target (target.ts) does not.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';

/** One example line per layout and per decoder family, for layouts no fixture file uses. */
export const EXAMPLE_LINES: readonly string[] = [
  '[2022-04-21T22:35:27.437652Z TRACE polling::epoll] wait: running epoll_fd=4, events.len=1 events.list:',
  '[2022-04-21T22:35:27.437755Z TRACE polling::epoll] wait: list[0] libc::epoll_event { events: 1 u64: 0 } ',
  '[2022-04-05T13:47:03Z INFO  client] Observed address: "/ip4/5.148.155.9/tcp/22907"',
  '[2023-11-14T09:30:12.871Z INFO  libp2p_swarm] Local peer id: 12D3KooW',
  '[2022-04-21T22:30:01.000037Z TRACE polling::epoll 123  7] wait:+ tid=7 epoll_fd=4, timeout=None',
  '[TRACE polling::epoll] wait: epoll_fd=3, timeout=Some(569.999073677s)',
  ' INFO 2018-09-12T14:03:51Z: polling::epoll: new events: epoll_fd=3, res=1',
  'TRACE:polling::epoll: modify: epoll_fd=3, fd=5, ev=Event { key: 18446744073709551615, readable: true, writable: false }',
  ' 2021-06-02T11:40:07.315Z TRACE async_io::reactor > react: 1 ready wakers',
  ' TRACE async_io::reactor > process_timers: 0 ready wakers',
  '19:44:42.662  TRACE  polling::epoll > wait: epoll_fd=3, timeout=None',
  '2024-03-05T17:02:11.408233Z TRACE ThreadId(07) polling::epoll: new events epoll_fd=3 res=1',
  '2024-03-05T17:02:11.408233Z TRACE main ThreadId(01) wait{epoll_fd=3 timeout=None}: polling::epoll: new',
  '2024-03-05T17:02:11.409233Z TRACE wait{epoll_fd=3 timeout=None}: polling::epoll: close time.busy=41.2µs time.idle=4.99s',
  '2024-03-05T17:02:11.408233+01:00 DEBUG Swarm::poll: libp2p_swarm: new',
  '2024-03-05T17:02:12.408233Z DEBUG Swarm::poll: libp2p_swarm: close time.busy=1.2s time.idle=3ms',
  'Apr 21 22:41:09.512 TRACE polling::epoll: wait: epoll_fd=3, timeout=None',
  '   0.123456789s TRACE async_io::driver: main_loop: waiting on I/O',
  '{"timestamp":"2024-03-05T17:02:11.408233Z","level":"TRACE","fields":{"message":"new events","epoll_fd":3,"res":1},"target":"polling::epoll","span":{"name":"wait","epoll_fd":3},"spans":[{"name":"wait"}],"threadId":"ThreadId(2)"}',
  '[2022-04-21T22:34:42.294524Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): false',
  '[2022-04-21T22:34:42.294524Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:+ tid=7',
  '[2022-04-21T22:30:01.000090Z TRACE polling::epoll] ctl:+ tid=7 epoll_fd=4, event_fd=5 libc::epoll_event { events=40000000 u64=18446744073709551615 }',
  '[2022-04-21T22:30:01.000090Z TRACE polling::epoll] wait: retf modify to clear notification epoll_fd=4, res_rd=Ok(8) buf=[1, 0]',
  '[2022-04-21T22:30:01.000090Z DEBUG async_io::reactor] ReactorLock::react: wake up 2 ready wakers',
  "thread 'main' panicked at src/main.rs:10:5",
  '    at src/main.rs:10:5',
];

/** Where seed logs live, relative to the repository root. */
const SEED_DIRS = ['samples', 'test/real-relay/fixtures', 'test/fixtures', 'test/fuzz/regressions'];

export interface SeedFile {
  name: string;
  lines: string[];
}

/** Every `.log` file under the seed folders (missing folders are skipped), split into lines. */
export function loadSeedFiles(root: string, maxLinesPerFile = 4000): SeedFile[] {
  const files: SeedFile[] = [{ name: '(examples)', lines: [...EXAMPLE_LINES] }];
  for (const dir of SEED_DIRS) {
    for (const file of walk(path.join(root, dir))) {
      if (!file.endsWith('.log')) continue;
      const text = readFileSync(file, 'latin1');
      const lines = text.split('\n').filter((l) => !l.startsWith('# source:'));
      if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      if (lines.length === 0) continue;
      files.push({ name: path.relative(root, file), lines: lines.slice(0, maxLinesPerFile) });
    }
  }
  return files;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Tokens that trip parsers: separators, numbers at the edges of their types, absurd times. */
const TOKENS = [
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  '"',
  '\\',
  ':',
  '::',
  ': ',
  ' ',
  '  ',
  '\t',
  '\r',
  '\x1b[31m',
  '\x1b[0m',
  '\u00b5',
  '\ufffd',
  '\0',
  '.',
  '-',
  '+',
  'T',
  'Z',
  '=',
  '0',
  '9',
  '-1',
  '4294967295',
  '18446744073709551615',
  'ffffffffffffffff',
  '99999999999999999999999',
  '1e308',
  'NaN',
  'None',
  'Some(',
  'Some(5s)',
  'Some(OwnedFd { fd: 5 })',
  'ThreadId(',
  'ThreadId(99999999999)',
  'time.busy=',
  'time.busy=99999999999999999999s',
  'time.idle=1e30s',
  'epoll_fd=',
  'epoll_fd=4',
  'res=',
  'res=-1',
  'tid=',
  'events.len=',
  'Event { ',
  'key: ',
  'u64: ',
  'TRACE',
  'DEBUG',
  'INFO ',
  'polling::epoll',
  'libp2p_swarm',
  'async_io::reactor',
  'Swarm::poll',
  'wait{epoll_fd=3 timeout=None}: ',
  'Swarm<TBehavior>::Stream::poll_next:+',
  'Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): true',
  'wait:+ epoll_fd=4, timeout=None',
  'wait:- epoll_fd=4, res=1',
  'new events: epoll_fd=4, res=1',
  'close time.busy=5s time.idle=1s',
];

/** Timestamps at the edges: years 0000/9999/1970, cut fractions, 20-digit fractions, offsets, uptimes. */
const TIMESTAMPS = [
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999Z',
  '1970-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999999Z',
  '2022-04-21T22:30:2',
  '2022-04-21T22:30:16.77',
  '2022-02-30T25:61:61Z',
  '2022-04-21T22:30:16.12345678901234567890Z',
  '2022-04-21T22:30:16.437652+99:99',
  '2022-04-21T22:30:16.437652-23:59',
  '2022-04-21 22:30:16.437652Z',
  '2022-13-45T22:30:16Z',
  '99:99:99.999',
  '23:59:59.999',
  '00:00:00.000',
  '19:44:42.662',
  'Feb 30 25:61:61.000',
  'Dec 31 23:59:59.999999',
  '999999999999999999999.000000001s',
  '   0.000000000s',
  '5',
  '42',
];

export interface GenOptions {
  /** Largest random-bytes input (the 2 MB case is generated separately, rarely). */
  maxRandomBytes?: number;
  /** Most lines taken from a seed file as the base of an input. */
  maxWindowLines?: number;
}

type Mutation =
  | { kind: 'truncate'; line: number; at: number }
  | { kind: 'cutTail'; at: number }
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'digit'; at: number; digit: number }
  | { kind: 'token'; at: number; token: number }
  | { kind: 'timestamp'; line: number; ts: number }
  | { kind: 'year'; line: number; year: number }
  | { kind: 'splice'; line: number; file: number; from: number; count: number }
  | { kind: 'repeat'; line: number; times: number }
  | { kind: 'dropLine'; line: number }
  | { kind: 'bytes'; at: number; bytes: Uint8Array };

/** fast-check arbitrary of whole inputs (the bytes of a log file) built from the seed files. */
export function inputArbitrary(seeds: readonly SeedFile[], opts: GenOptions = {}): fc.Arbitrary<Buffer> {
  const maxWindow = opts.maxWindowLines ?? 40;
  const maxRandom = opts.maxRandomBytes ?? 2048;
  const nfiles = seeds.length;
  const window = fc.tuple(fc.nat(nfiles - 1), fc.nat(), fc.integer({ min: 1, max: maxWindow })).map(([f, start, n]) => {
    const lines = seeds[f].lines;
    const s = start % lines.length;
    return lines.slice(s, s + n);
  });
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), line: fc.nat(), at: fc.nat() }),
    fc.record({ kind: fc.constant('cutTail' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('digit' as const), at: fc.nat(), digit: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ kind: fc.constant('token' as const), at: fc.nat(), token: fc.nat(TOKENS.length - 1) }),
    fc.record({ kind: fc.constant('timestamp' as const), line: fc.nat(), ts: fc.nat(TIMESTAMPS.length - 1) }),
    fc.record({ kind: fc.constant('year' as const), line: fc.nat(), year: fc.integer({ min: 0, max: 9999 }) }),
    fc.record({
      kind: fc.constant('splice' as const),
      line: fc.nat(),
      file: fc.nat(nfiles - 1),
      from: fc.nat(),
      count: fc.integer({ min: 1, max: 8 }),
    }),
    fc.record({ kind: fc.constant('repeat' as const), line: fc.nat(), times: fc.integer({ min: 2, max: 50 }) }),
    fc.record({ kind: fc.constant('dropLine' as const), line: fc.nat() }),
    fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  );
  const mutated = fc
    .tuple(window, fc.array(mutation, { maxLength: 6 }), fc.boolean())
    .map(([lines, muts, finalNewline]) => applyMutations(lines, muts, seeds, finalNewline));
  const randomBytes = fc.uint8Array({ maxLength: maxRandom }).map((b) => Buffer.from(b));
  const digitsOnly = fc
    .array(fc.stringMatching(/^[0-9]{1,24}$/), { minLength: 1, maxLength: 5 })
    .map((ls) => Buffer.from(ls.join('\n') + '\n', 'latin1'));
  const tokenSoup = fc
    .array(fc.oneof(fc.constantFrom(...TOKENS), fc.constantFrom(...TIMESTAMPS)), { maxLength: 30 })
    .map((ts) => Buffer.from(ts.join(''), 'utf8'));
  return fc.oneof(
    { weight: 14, arbitrary: mutated },
    { weight: 2, arbitrary: randomBytes },
    { weight: 1, arbitrary: digitsOnly },
    { weight: 2, arbitrary: tokenSoup },
  );
}

function applyMutations(lines: string[], muts: readonly Mutation[], seeds: readonly SeedFile[], nl: boolean): Buffer {
  let ls = lines.slice();
  for (const m of muts) {
    if (ls.length === 0) ls.push('');
    const li = 'line' in m ? m.line % ls.length : 0;
    switch (m.kind) {
      case 'truncate':
        ls[li] = ls[li].slice(0, m.at % (ls[li].length + 1));
        break;
      case 'cutTail': {
        // the input ends inside its last line
        const last = ls.length - 1;
        ls[last] = ls[last].slice(0, m.at % (ls[last].length + 1));
        break;
      }
      case 'timestamp':
        ls[li] = replaceTimestamp(ls[li], TIMESTAMPS[m.ts]);
        break;
      case 'year':
        ls[li] = replaceYear(ls[li], String(m.year).padStart(4, '0'));
        break;
      case 'splice': {
        const other = seeds[m.file].lines;
        const from = m.from % other.length;
        ls.splice(li, 0, ...other.slice(from, from + m.count));
        break;
      }
      case 'repeat':
        ls.splice(li, 0, ...new Array<string>(m.times - 1).fill(ls[li]));
        break;
      case 'dropLine':
        ls.splice(li, 1);
        break;
      default: {
        // byte-level edits on the joined text
        const text = ls.join('\n');
        const at = text.length === 0 ? 0 : m.at % text.length;
        let edited: string;
        if (m.kind === 'flip') edited = text.slice(0, at) + String.fromCharCode(m.byte) + text.slice(at + 1);
        else if (m.kind === 'digit')
          edited = text.slice(0, at) + substituteChar(text.charCodeAt(at), m.digit) + text.slice(at + 1);
        else if (m.kind === 'token') edited = text.slice(0, at) + TOKENS[m.token] + text.slice(at);
        else edited = text.slice(0, at) + Buffer.from(m.bytes).toString('latin1') + text.slice(at);
        ls = edited.split('\n');
      }
    }
  }
  // Lines are latin1 strings of the file's bytes (and examples are ASCII/UTF-8): back to bytes as read.
  const text = ls.join('\n') + (nl ? '\n' : '');
  return Buffer.from(text, isLatin1Only(text) ? 'latin1' : 'utf8');
}

function isLatin1Only(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return false;
  return true;
}

/** A digit becomes another digit or a separator; a separator becomes a digit or another separator. */
function substituteChar(c: number, pick: number): string {
  const SEPS = '-:.TZ []+';
  if (pick < 10) return String(pick);
  const s = SEPS[(pick + c) % SEPS.length];
  return s;
}

/** Replaces the first timestamp-looking run (starts with a digit, up to the next space or ']') with ts. */
function replaceTimestamp(line: string, ts: string): string {
  let i = 0;
  while (i < line.length && !(line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57)) i++;
  if (i >= line.length || i > 4) return ts + line;
  let j = i;
  while (j < line.length && line[j] !== ' ' && line[j] !== ']') j++;
  return line.slice(0, i) + ts + line.slice(j);
}

/** Replaces the first `YYYY-` year with y. */
function replaceYear(line: string, y: string): string {
  for (let i = 0; i + 4 < line.length; i++) {
    if (line.charCodeAt(i + 4) === 45 && /^[0-9]{4}$/.test(line.slice(i, i + 4))) {
      return line.slice(0, i) + y + line.slice(i + 4);
    }
  }
  return line;
}

/** Deterministic pseudo-random bytes (xorshift32) for the rare multi-megabyte input. */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Most cuts taken from one line (longer lines are cut at evenly spaced positions). */
const MAX_CUTS = 200;

/** Line `pick` (mod the line count) of `input` after its predecessor, cut at every position. */
export function* lineCuts(input: Buffer, pick: number): Generator<Buffer> {
  const starts = [0];
  for (let i = input.indexOf(10); i >= 0 && starts.length < 10_000; i = input.indexOf(10, i + 1)) starts.push(i + 1);
  const k = pick % starts.length;
  const lineStart = starts[k];
  let lineEnd = input.indexOf(10, lineStart);
  if (lineEnd < 0) lineEnd = input.length;
  const before = k > 0 ? input.subarray(starts[k - 1], lineStart) : Buffer.alloc(0);
  const len = lineEnd - lineStart;
  const step = Math.max(1, Math.ceil(len / MAX_CUTS));
  for (let at = 1; at <= len; at += step) {
    yield Buffer.concat([before, input.subarray(lineStart, lineStart + at), at % 2 === 0 ? NEWLINE : EMPTY]);
  }
}

const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
