/**
 * The fork decoder's fast paths (fields read where the fork writes them) against its generic
 * reading (fieldStart searches), on generated and mutated fork lines; and the field helpers that
 * compare literals char by char against the startsWith readings they replaced.
 */
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect } from 'vitest';
import { NOTIFY_KEY } from '../../src/decode/events.js';
import {
  boolAt,
  decimalKeyAt,
  digitsText,
  eventAt,
  evScratch,
  intAt,
  optionDurationAt,
  optionFdAt,
  scan,
  tidAt,
} from '../../src/decode/fields.js';
import { PollingForkDecoder } from '../../src/decode/polling-fork.js';
import { forkFastPaths } from '../../src/decode/polling-fork-fast.js';
import { Polling2Decoder, polling2FastPaths } from '../../src/decode/polling2.js';
import { rec, run } from './support.js';

afterEach(() => {
  forkFastPaths.on = true;
  polling2FastPaths.on = true;
});

const MAX64 = '18446744073709551615';
const MAX32 = '4294967295';

// ---- generated fork lines ----

const num = fc.oneof(fc.integer({ min: 0, max: 99 }).map(String), fc.constantFrom('4', '10', '007', '-1', '"3"', ''));
const key = fc.oneof(
  fc.constantFrom(MAX64, MAX32, '18446744073709551614', '184467440737095516150', '1844674407370955161', '42949672950'),
  fc.integer({ min: 0, max: 1 << 20 }).map(String),
  fc.constantFrom('ffffffffffffffff', 'ffffffff', 'a3', '', '-'),
);
const bool = fc.constantFrom('true', 'false', 'tru', 'False', '');
const tid = fc.oneof(
  fc.constant(''),
  num.map((n) => `tid=${n} `),
  fc.constantFrom('tid=7', 'tid=ThreadId(7) ', 'tid= ', 'tid=7  '),
);
const space = fc.constantFrom(' ', ' ', '  ', '');
const sep = fc.constantFrom(', ', ', ', ',', ' ', ',  ');
const event = fc.oneof(
  fc
    .tuple(key, bool, bool, sep, sep)
    .map(([k, r, w, s1, s2]) => `Event { key: ${k}${s1}readable: ${r}${s2}writable: ${w} }`),
  fc.tuple(bool, bool, key).map(([r, w, k]) => `Event { r: ${r} w: ${w} key: ${k} } `),
  fc.constantFrom('Event {key: 1}', 'None', 'Event { readable: true }'),
);

/** `modify:+`/`add:+ [tid=N ]epoll_fd=E, fd=F, ev=…` and near misses. */
const addModifyLine = fc
  .tuple(fc.constantFrom('modify:+', 'add:+'), space, tid, num, sep, num, sep, event)
  .map(([head, sp, t, e, s1, f, s2, ev]) => `${head}${sp}${t}epoll_fd=${e}${s1}fd=${f}${s2}ev=${ev}`);

/** `ctl:+ …` in the shapes the fork wrote over its commits, and near misses. */
const ctlLine = fc
  .tuple(
    space,
    tid,
    fc.constantFrom('', 'ADD ', 'MOD ', 'DEL '),
    num,
    num,
    fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }).map((n) => n.toString(16)),
      fc.constantFrom('4000201b', '', 'g1'),
    ),
    key,
    fc.nat(5),
  )
  .map(([sp, t, op, e, f, hex, k, shape]) => {
    const head = `ctl:+${sp}${t}${op}epoll_fd=${e}`;
    switch (shape) {
      case 0:
        return `${head}, event_fd=${f} libc::epoll_event { events=${hex} u64=${k} }`;
      case 1:
        return `${head}, fd=${f}, flags=${k}, key=${k}`;
      case 2:
        return `${head}, event_fd=${f} ev=None`;
      case 3:
        return `${head}, fd=${f} { events: ${hex} u64: ${k} }`;
      case 4:
        return `${head}, event_fd=${f} libc::epoll_event { events: ${hex} u64: ${k} }`;
      default:
        return `${head}, event_fd=${f}`;
    }
  });

/** `wait…` lines: entry, exit, block, wake, returned events. */
const waitLine = fc
  .tuple(
    fc.nat(5),
    tid,
    num,
    num,
    fc.constantFrom('None', 'Some(1.5ms)', 'Some(0ns)', 'Some(2.000000001s)', 'Some(x)', '-'),
    key,
    fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
  )
  .map(([shape, t, a, b, timeout, k, hex]) => {
    switch (shape) {
      case 0:
        return `wait:+ ${t}epoll_fd=${a}, timeout=${timeout}`;
      case 1:
        return `wait:- ${t}epoll_fd=${a}, res=${b}`;
      case 2:
        return `wait: ${t}waiting epoll_fd=${a}, timeout=${timeout} timeout_ms=${b}, events.list.len=1000`;
      case 3:
        return `wait: ${t}running epoll_fd=${a}, events.len=${b} events.list:`;
      case 4:
        return `wait: list[${a}] libc::epoll_event { events: ${hex} u64: ${k} } `;
      default:
        return `wait: ${t}list[${a}] { events: ${hex} u64: ${k} }`;
    }
  });

/** A line with one char replaced, removed or inserted (or cut short) at a random place. */
function mutated(line: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(line, fc.nat(), fc.nat(3), fc.constantFrom(' ', ',', '=', '0', '9', 'f', '}', '{', '\n', 'µ', 'x', ':'))
    .map(([l, at, how, c]) => {
      const i = l.length === 0 ? 0 : at % l.length;
      if (how === 0) return l.slice(0, i) + c + l.slice(i + 1);
      if (how === 1) return l.slice(0, i) + l.slice(i + 1);
      if (how === 2) return l.slice(0, i) + c + l.slice(i);
      return l.slice(0, i);
    });
}

/** The decoder's reading of `message` with the fast paths on and off (a fresh decoder each). */
function bothWays(message: string): void {
  const r = rec('polling::epoll', message);
  forkFastPaths.on = false;
  const generic = run(new PollingForkDecoder(), r);
  forkFastPaths.on = true;
  const fast = run(new PollingForkDecoder(), r);
  expect(fast).toStrictEqual(generic);
}

/** As bothWays, but as a slice of a larger string (how records arrive from the parser). */
function bothWaysSliced(message: string): void {
  const big = `[2022-04-21T22:30:07.679680Z TRACE polling::epoll] ${message}\n`;
  bothWays(big.slice(big.indexOf('] ') + 2, big.length - 1));
}

describe('polling-fork fast paths read as the generic reading', () => {
  test.prop([fc.oneof(addModifyLine, mutated(addModifyLine))], { numRuns: 3000 })('add:+ / modify:+', (m) => {
    bothWays(m);
    bothWaysSliced(m);
  });
  test.prop([fc.oneof(ctlLine, mutated(ctlLine))], { numRuns: 3000 })('ctl:+', (m) => {
    bothWays(m);
    bothWaysSliced(m);
  });
  test.prop([fc.oneof(waitLine, mutated(waitLine))], { numRuns: 3000 })('wait…', (m) => {
    bothWays(m);
    bothWaysSliced(m);
  });
  test.prop([fc.string({ maxLength: 60 }).map((s) => `modify:+ tid=7 epoll_fd=4, fd=6, ev=Event { key: ${s}`)])(
    'arbitrary tails',
    (m) => bothWays(m),
  );
});

/** polling 2.x lines (and the fork's, which reach that decoder first on their shared target). */
const polling2Line = fc
  .tuple(
    fc.constantFrom('modify: ', 'add: ', 'wait: ', 'new events: ', 'new: ', 'notify: ', 'remove: ', 'delete: '),
    fc.constantFrom('epoll_fd=', 'kqueue_fd=', 'notify_read=', 'skipping because another thread', ''),
    num,
    sep,
    num,
    sep,
    event,
    fc.constantFrom('', '} backtrace:\n   0: x', ', timeout=None', ', res=1', ', timer_fd=Some(5)'),
  )
  .map(([head, key, e, s1, f, s2, ev, tail]) => `${head}${key}${e}${s1}fd=${f}${s2}ev=${ev}${tail}`);

/** polling 2.x's reading of `message` with its quick rejects and fast path on and off. */
function polling2BothWays(message: string): void {
  const r = rec('polling::epoll', message);
  polling2FastPaths.on = false;
  const generic = run(new Polling2Decoder(), r);
  polling2FastPaths.on = true;
  const fast = run(new Polling2Decoder(), r);
  expect(fast).toStrictEqual(generic);
}

describe('polling 2.x quick rejects and fast path read as its generic reading', () => {
  test.prop([fc.oneof(polling2Line, mutated(polling2Line))], { numRuns: 3000 })('polling 2.x lines', (m) => {
    polling2BothWays(m);
  });
  test.prop([mutated(fc.oneof(addModifyLine, ctlLine, waitLine))], { numRuns: 2000 })('the fork lines', (m) => {
    polling2BothWays(m);
  });
  test.each([
    'modify: epoll_fd=3, fd=10, ev=Event { key: 3, readable: true, writable: false }',
    'add: epoll_fd=3, fd=10, ev=Event { key: 3, readable: false, writable: false }',
    'wait: epoll_fd=3, timeout=Some(569.999073677s)',
    'wait: skipping because another thread is already waiting on I/O',
    'new events: epoll_fd=3, res=1',
    'new: epoll_fd=3, event_fd=4, timer_fd=Some(5)',
    'notify: epoll_fd=3, event_fd=4',
    'add: epoll_fd=5, fd=8, ev=Event { key: 1, readable: true, writable: false } backtrace:\n   0: x',
  ])('%s', (m) => {
    polling2BothWays(m);
    expect(run(new Polling2Decoder(), rec('polling::epoll', m)).ok).toBe(true);
  });
});

describe('the fast paths on the fork lines the bench and fixtures carry', () => {
  test.each([
    'modify:+ tid=7 epoll_fd=4, fd=6, ev=Event { key: 18446744073709551615, readable: true, writable: false }',
    'modify:+ tid=1 epoll_fd=4, fd=10, ev=Event { key: 3, readable: true, writable: false }',
    'add:+ tid=1 epoll_fd=4, fd=10, ev=Event { key: 3, readable: false, writable: false }',
    'modify:+ epoll_fd=4, fd=10, ev=Event { r: true w: false key: ffffffffffffffff } ',
    'ctl:+ tid=7 epoll_fd=4, event_fd=5 libc::epoll_event { events=4000201b u64=18446744073709551615 }',
    'ctl:+ tid=1 epoll_fd=4, event_fd=5 libc::epoll_event { events=4000201b u64=3 }',
    'ctl:+ tid=7 epoll_fd=4, event_fd=5 ev=None',
    'wait:+ tid=7 epoll_fd=4, timeout=None',
    'wait:+ tid=7 epoll_fd=4, timeout=Some(1.5ms)',
    'wait:- epoll_fd=4, res=1',
    'wait: waiting epoll_fd=4, timeout=None timeout_ms=-1, events.list.len=1000',
    'wait: running epoll_fd=4, events.len=1 events.list:',
    'wait: list[0] libc::epoll_event { events: 1 u64: 2 } ',
    'wait: list[1] { events: 1 u64: ffffffffffffffff }',
  ])('%s', (m) => {
    bothWays(m);
    bothWaysSliced(m);
    expect(run(new PollingForkDecoder(), rec('polling::epoll', m)).ok).toBe(true);
  });
});

// ---- field helpers against the startsWith readings they replaced ----

function plainDecimalKeyAt(text: string, pos: number): number {
  if (text.startsWith(MAX64, pos) && !/[0-9]/.test(text.charAt(pos + 20))) {
    scan.end = pos + 20;
    return NOTIFY_KEY;
  }
  if (text.startsWith(MAX32, pos) && !/[0-9]/.test(text.charAt(pos + 10))) {
    scan.end = pos + 10;
    return NOTIFY_KEY;
  }
  return intAt(text, pos);
}

function plainBoolAt(text: string, pos: number): boolean | undefined {
  if (text.startsWith('true', pos)) {
    scan.end = pos + 4;
    return true;
  }
  if (text.startsWith('false', pos)) {
    scan.end = pos + 5;
    return false;
  }
  scan.end = pos;
  return undefined;
}

function plainTidAt(text: string, pos: number): string | undefined {
  if (!text.startsWith('tid=', pos)) {
    scan.end = pos;
    return undefined;
  }
  const n = intAt(text, pos + 4);
  if (Number.isNaN(n)) {
    scan.end = pos;
    return undefined;
  }
  const end = scan.end;
  scan.end = text.charCodeAt(end) === 32 ? end + 1 : end;
  return text.slice(pos + 4, end);
}

/** [result, scan.end] of one helper call. */
function withEnd<T>(f: () => T): [T, number] {
  scan.end = -7;
  const v = f();
  return [v, scan.end];
}

const textWithLiterals = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        MAX64,
        MAX32,
        'true',
        'false',
        'tru',
        'fals',
        'None',
        'Some(',
        'Some(1ms)',
        'tid=',
        'tid=7 ',
        'key: ',
      ),
      fc.constantFrom('0', '1', '9', ' ', 'f', 'Event { ', 'r: ', ', readable: ', ', writable: ', 'w: ', '"', '-'),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));

describe('field helpers read as the startsWith readings', () => {
  test.prop([textWithLiterals, fc.nat(40)], { numRuns: 3000 })('decimalKeyAt, boolAt, tidAt', (text, at) => {
    const pos = at % (text.length + 2);
    expect(withEnd(() => decimalKeyAt(text, pos))).toStrictEqual(withEnd(() => plainDecimalKeyAt(text, pos)));
    expect(withEnd(() => boolAt(text, pos))).toStrictEqual(withEnd(() => plainBoolAt(text, pos)));
    expect(withEnd(() => tidAt(text, pos))).toStrictEqual(withEnd(() => plainTidAt(text, pos)));
  });

  test.prop([fc.stringMatching(/^[0-9"-]{0,5}$/), fc.string({ maxLength: 3 })])('digitsText', (digits, after) => {
    const text = `tid=${digits}${after}`;
    const n = intAt(text, 4);
    if (!Number.isNaN(n)) expect(digitsText(text, 4, scan.end, n)).toBe(text.slice(4, scan.end));
  });

  test.prop([textWithLiterals, fc.nat(40)], { numRuns: 2000 })('optionDurationAt, optionFdAt', (text, at) => {
    const pos = at % (text.length + 2);
    const dur = withEnd(() => optionDurationAt(text, pos));
    const fdv = withEnd(() => optionFdAt(text, pos));
    // The reading before: `None` / `Some(` by startsWith.
    if (text.startsWith('None', pos)) {
      expect(dur).toStrictEqual([null, pos + 4]);
      expect(fdv).toStrictEqual([null, pos + 4]);
    } else if (!text.startsWith('Some(', pos)) {
      expect(dur).toStrictEqual([NaN, pos]);
      expect(fdv).toStrictEqual([NaN, pos]);
    } else {
      expect(Number.isNaN(dur[0]) || typeof dur[0] === 'number').toBe(true);
    }
  });

  test.prop([textWithLiterals, fc.nat(40)], { numRuns: 2000 })('eventAt', (text, at) => {
    const pos = at % (text.length + 2);
    const s = `Event { ${text}`;
    const ok = eventAt(s, 0);
    const got = { ...evScratch };
    // The reading before, for the Debug form: `key: ` by startsWith, then the same fields.
    if (text.startsWith('key: ')) {
      expect(ok).toBe(true);
      expect(Object.is(got.key, plainDecimalKeyAt(s, 13))).toBe(true);
    } else if (text.startsWith('r: ')) {
      expect(ok).toBe(true);
      expect(got.readable).toBe(plainBoolAt(s, 11));
    } else expect(ok).toBe(false);
    expect(eventAt(text, pos)).toBe(text.startsWith('Event { ', pos) && eventAt(text.slice(pos), 0));
  });
});
