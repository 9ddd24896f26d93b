import { describe, expect, it } from 'vitest';
import {
  boolAt,
  decimalKeyAt,
  durationAt,
  eventAt,
  evScratch,
  fdValueAt,
  fieldStart,
  hexAt,
  hexKeyAt,
  innermostSpanStart,
  intAt,
  intField,
  optionDurationAt,
  optionFdAt,
  scan,
  spanNameIs,
  tidAt,
} from '../../src/decode/fields.js';
import { NOTIFY_KEY } from '../../src/decode/events.js';
import { parseRustDuration } from '../../src/time.js';

describe('intField / fieldStart', () => {
  const m = 'modify: epoll_fd=5, fd=10, ev=Event { key: 0, readable: true, writable: false }';
  it('finds a field only at a field boundary', () => {
    expect(intField(m, 'epoll_fd=')).toBe(5);
    expect(intField(m, 'fd=')).toBe(10);
    expect(intField('ctl:+ tid=7 epoll_fd=4, event_fd=5 flags=1', 'fd=')).toBeNaN();
    expect(intField('new events: epoll_fd=5, res=1', 'res=')).toBe(1);
    expect(intField('wait: running epoll_fd=4, events.len=1 events.list:', 'events.len=')).toBe(1);
  });
  it('returns NaN when absent or not a number', () => {
    expect(intField(m, 'res=')).toBeNaN();
    expect(intField('fd=x', 'fd=')).toBeNaN();
    expect(fieldStart(m, 'nope=')).toBe(-1);
  });
  it('reads negative numbers and JSON-quoted numbers', () => {
    expect(intField('timeout_ms=-1, events.list.len=1000', 'timeout_ms=')).toBe(-1);
    expect(intField('new events epoll_fd=3 res="1"', 'res=')).toBe(1);
  });
  it('reports where the value ended', () => {
    expect(intAt('res=123 x', 4)).toBe(123);
    expect(scan.end).toBe(7);
  });
});

describe('keys', () => {
  it('maps usize::MAX (64 and 32 bit, decimal and hex) to NOTIFY_KEY', () => {
    expect(decimalKeyAt('18446744073709551615 }', 0)).toBe(NOTIFY_KEY);
    expect(scan.end).toBe(20);
    expect(decimalKeyAt('4294967295,', 0)).toBe(NOTIFY_KEY);
    expect(hexKeyAt('ffffffffffffffff }', 0)).toBe(NOTIFY_KEY);
    expect(hexKeyAt('ffffffff }', 0)).toBe(NOTIFY_KEY);
  });
  it('reads other keys in the base the caller chose (fork v1+: `10` is 16)', () => {
    expect(decimalKeyAt('10 }', 0)).toBe(10);
    expect(hexKeyAt('10 }', 0)).toBe(16);
    expect(hexKeyAt('2 }', 0)).toBe(2);
    expect(decimalKeyAt('42949672950', 0)).toBe(42949672950);
  });
  it('reads hex masks', () => {
    expect(hexAt('4000201b u64', 0)).toBe(0x4000201b);
    expect(hexAt('2019', 0)).toBe(0x2019);
    expect(hexAt('xyz', 0)).toBeNaN();
  });
});

describe('durations', () => {
  const cases = [
    '569.999073677s',
    '50ms',
    '1.5µs',
    '0ns',
    '41.2µs',
    '3.10µs',
    '4.99s',
    '6.1µs',
    '2.5s',
    '4.99962s',
    '1.5us',
  ];
  it.each(cases)('%s agrees with parseRustDuration', (t) => {
    expect(durationAt(t, 0)).toBe(parseRustDuration(t));
  });
  it('reads Option<Duration>', () => {
    expect(optionDurationAt('timeout=None', 8)).toBeNull();
    expect(optionDurationAt('Some(569.999073677s)', 0)).toBe(569_999_073_677);
    expect(scan.end).toBe(20);
    expect(optionDurationAt('Some(0ns)', 0)).toBe(0);
    expect(optionDurationAt('Whatever', 0)).toBeNaN();
    expect(durationAt('12', 0)).toBeNaN();
  });
});

describe('fds and Events', () => {
  it('reads Option<RawFd> and OwnedFd/BorrowedFd', () => {
    expect(optionFdAt('Some(7)', 0)).toBe(7);
    expect(optionFdAt('None', 0)).toBeNull();
    expect(optionFdAt('Some(OwnedFd { fd: 5 })', 0)).toBe(5);
    expect(fdValueAt('BorrowedFd { fd: 5 } ev=', 0)).toBe(5);
    expect(fdValueAt('12', 0)).toBe(12);
  });
  it('reads Event Debug (decimal key) and fork Display (hex key)', () => {
    expect(eventAt('Event { key: 18446744073709551615, readable: true, writable: false }', 0)).toBe(true);
    expect({ ...evScratch }).toEqual({ key: NOTIFY_KEY, readable: true, writable: false });
    expect(eventAt('Event { r: false w: true key: 10 } ', 0)).toBe(true);
    expect({ ...evScratch }).toEqual({ key: 16, readable: false, writable: true });
    expect(eventAt('None', 0)).toBe(false);
  });
  it('reads bools and tids', () => {
    expect(boolAt('true', 0)).toBe(true);
    expect(boolAt('false', 0)).toBe(false);
    expect(boolAt('maybe', 0)).toBeUndefined();
    expect(tidAt('tid=7 epoll_fd=4', 0)).toBe('7');
    expect(scan.end).toBe(6);
    expect(tidAt('epoll_fd=4', 0)).toBeUndefined();
  });
});

describe('innermost span', () => {
  it('skips `::` in names and `:` inside fields', () => {
    const s = 'Poller::wait{timeout=None}:wait{epoll_fd=3 timeout=None}';
    const i = innermostSpanStart(s);
    expect(s.slice(i)).toBe('wait{epoll_fd=3 timeout=None}');
    expect(spanNameIs(s, i, 'wait')).toBe(true);
    expect(spanNameIs(s, 0, 'Poller::wait')).toBe(true);
    expect(spanNameIs(s, i, 'wai')).toBe(false);
  });
  it('handles path-like names and a single span', () => {
    expect(innermostSpanStart('Swarm::poll')).toBe(0);
    const s = 'async_io::main_loop:react:process_timers';
    expect(s.slice(innermostSpanStart(s))).toBe('process_timers');
    const t = 'new_incoming_connection{remote_addr=/ip6/::1/tcp/4001 id=1}:Swarm::poll';
    expect(t.slice(innermostSpanStart(t))).toBe('Swarm::poll');
    expect(innermostSpanStart('')).toBe(-1);
  });
});
