import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture as fixturePath } from '../helpers.js';
import { rec, run } from './support.js';
import { NOTIFY_KEY, type ReactorEvent } from '../../src/decode/events.js';
import { PollingForkDecoder } from '../../src/decode/polling-fork.js';

const E = 'polling::epoll';

const d = new PollingForkDecoder();
const one = (m: string): ReactorEvent[] => {
  const r = run(d, rec(E, m));
  expect(r.ok, m).toBe(true);
  return r.events;
};
const none = (m: string): void => {
  expect(run(d, rec(E, m)), m).toEqual({ ok: true, events: [] });
};

describe('seed excerpt (fork e1c433b shapes)', () => {
  // E3 lines `[ts LEVEL target] msg`; the envelope parser right-trims, line 3 keeps its space here.
  const lines = readFileSync(fixturePath('seed/relay_v2-excerpt.log'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const recs = lines.map((l) => {
    const m = /^\[(\S+) TRACE (\S+)\] (.*)$/.exec(l)!;
    return rec(m[2], m[3]);
  });

  it('has the 8 lines the README describes', () => {
    expect(recs).toHaveLength(8);
    expect(recs[2].message.endsWith('} ')).toBe(true);
  });

  it('decodes lines 2-8 as the README expects', () => {
    const got = recs.slice(1).map((r) => run(d, r));
    expect(got).toEqual([
      { ok: true, events: [{ kind: 'wait_wake', fd: 4, res: 1 }] },
      { ok: true, events: [{ kind: 'wait_ready', fd: null, index: 0, flags: 0x1, key: 0 }] },
      {
        ok: true,
        events: [
          {
            kind: 'interest',
            op: 'modify',
            fd: 4,
            targetFd: 5,
            key: NOTIFY_KEY,
            flags: null,
            readable: true,
            writable: false,
            tid: '7',
          },
        ],
      },
      {
        ok: true,
        events: [
          { kind: 'interest', op: 'modify', fd: 4, targetFd: null, key: NOTIFY_KEY, flags: 0x4000201b, tid: '7' },
        ],
      },
      { ok: true, events: [] },
      { ok: true, events: [] },
      { ok: true, events: [{ kind: 'wait_end', poller: 'epoll', fd: 4, res: 1 }] },
    ]);
  });

  it('line 3 decodes the same right-trimmed', () => {
    expect(one(recs[2].message.trimEnd())).toEqual([{ kind: 'wait_ready', fd: null, index: 0, flags: 1, key: 0 }]);
  });

  it('line 1 (libp2p_swarm) is not a polling line', () => {
    expect(run(d, recs[0]).ok).toBe(false);
  });
});

describe('wait', () => {
  it('wait:+ with and without tid', () => {
    expect(one('wait:+ epoll_fd=7, timeout=None')).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 7, timeoutNs: null },
    ]);
    expect(one('wait:+ tid=7 epoll_fd=4, timeout=Some(1.5s)')).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 4, timeoutNs: 1_500_000_000, tid: '7' },
    ]);
  });

  it('backtraces and configure: recognised, no event', () => {
    none(
      'wait: backtrace\n   0: std::backtrace::Backtrace::force_capture\n             at /rustc/x/library/std/src/backtrace.rs:311:9',
    );
    none('wait:  backtrace\n   0: polling::epoll::Poller::wait');
    none('tid=ThreadId(7) wait: backtrace\n   0: polling::epoll::Poller::wait');
    none('tid=7 wait: backtrace\n   0: polling::epoll::Poller::wait');
    none('wait: configure epoll_fd=4, timeout=Some(1.000005s) sec=1.5000');
    none('wait: configure epoll_fd=4, timeout=None sec=0.0');
  });

  it('waiting (block start): timeout_ms -1 blocks (null), 0 polls', () => {
    expect(one('wait: waiting epoll_fd=4, timeout=None timeout_ms=-1, events.list.len=1000')).toEqual([
      { kind: 'wait_block', fd: 4, timeoutMs: null },
    ]);
    expect(one('wait: tid=7 waiting epoll_fd=4, timeout=Some(0ns) timeout_ms=0, events.list.len=1000')).toEqual([
      { kind: 'wait_block', fd: 4, timeoutMs: 0, tid: '7' },
    ]);
  });

  it('running (the wake), every variant', () => {
    expect(one('wait: running epoll_fd=4, events.len=2')).toEqual([{ kind: 'wait_wake', fd: 4, res: 2 }]);
    expect(one('wait: running epoll_fd=4, events.len=2 res=2')).toEqual([{ kind: 'wait_wake', fd: 4, res: 2 }]);
    expect(one('wait: running epoll_fd=4, events.len=2 res=2 events.list:')).toEqual([
      { kind: 'wait_wake', fd: 4, res: 2 },
    ]);
    expect(one('wait: running epoll_fd=7, events.len=2 events.list:')).toEqual([{ kind: 'wait_wake', fd: 7, res: 2 }]);
    expect(one('wait: tid=7 running epoll_fd=4, events.len=1 events.list:')).toEqual([
      { kind: 'wait_wake', fd: 4, res: 1, tid: '7' },
    ]);
  });

  it('list entries: decimal u64 after libc::epoll_event (≤e1c433b), hex from v1', () => {
    expect(one('wait: list[0] libc::epoll_event { events: 5 u64: 10 } ')).toEqual([
      { kind: 'wait_ready', fd: null, index: 0, flags: 5, key: 10 },
    ]);
    expect(one('wait: list[1] libc::epoll_event { events: 1 u64: 18446744073709551615 } ')).toEqual([
      { kind: 'wait_ready', fd: null, index: 1, flags: 1, key: NOTIFY_KEY },
    ]);
    expect(one('wait: list[1] { events: 1 u64: ffffffffffffffff }')).toEqual([
      { kind: 'wait_ready', fd: null, index: 1, flags: 1, key: NOTIFY_KEY },
    ]);
    expect(one('wait: list[0] { events: 2011 u64: 10 }')).toEqual([
      { kind: 'wait_ready', fd: null, index: 0, flags: 0x2011, key: 16 },
    ]);
  });

  it('v4..v6 clear-notification lines', () => {
    none('wait: call modify to clear notification epoll_fd=7, res=8');
    none('wait: tid=4 call modify to clear notification epoll_fd=7, res=8');
    expect(
      one('wait: retf modify to clear notification epoll_fd=7, res_rd=Ok(8) buf=[1, 0, 0, 0, 0, 0, 0, 0]'),
    ).toEqual([{ kind: 'notify_drained', fd: 7, pending: true }]);
    expect(
      one(
        'wait: tid=4 retf modify to clear notification epoll_fd=7, res_rd=Err(Os { code: 11, kind: WouldBlock, message: "Resource temporarily unavailable" }) buf=[0, 0, 0, 0, 0, 0, 0, 0]',
      ),
    ).toEqual([{ kind: 'notify_drained', fd: 7, pending: false }]);
    none('wait: re-register epoll_fd=7');
    none('wait: tid=4 re-register epoll_fd=7');
  });

  it('wait:- with and without tid', () => {
    expect(one('wait:- epoll_fd=7, res=2')).toEqual([{ kind: 'wait_end', poller: 'epoll', fd: 7, res: 2 }]);
    expect(one('wait:- tid=7 epoll_fd=4, res=1')).toEqual([
      { kind: 'wait_end', poller: 'epoll', fd: 4, res: 1, tid: '7' },
    ]);
  });
});

describe('ctl', () => {
  const I = (o: Partial<Extract<ReactorEvent, { kind: 'interest' }>>) => ({
    kind: 'interest',
    op: 'modify',
    fd: 4,
    targetFd: null,
    key: null,
    flags: null,
    ...o,
  });

  it('6e02a65..5a30406: decimal flags and key; delete without mask', () => {
    expect(one('ctl:+ epoll_fd=4, event_fd=5 flags=1073750043 key=18446744073709551615')).toEqual([
      I({ key: NOTIFY_KEY, flags: 0x4000201b }),
    ]);
    expect(one('ctl:+ epoll_fd=4, event_fd=5')).toEqual([I({ op: 'delete' })]);
  });

  it('b314e91..ed3b246: flags with ev Debug; ev=None', () => {
    expect(
      one(
        'ctl:+ epoll_fd=4, event_fd=5 flags=1073750043 ev=Event { key: 18446744073709551615, readable: true, writable: false }',
      ),
    ).toEqual([I({ key: NOTIFY_KEY, flags: 0x4000201b, readable: true, writable: false })]);
    expect(one('ctl:+ epoll_fd=4, event_fd=5, ev=None')).toEqual([I({ op: 'delete' })]);
    expect(
      one('ctl:+ tid=7 epoll_fd=4, event_fd=5 flags=1073741824 ev=Event { key: 0, readable: false, writable: false }'),
    ).toEqual([I({ key: 0, flags: 0x40000000, readable: false, writable: false, tid: '7' })]);
    expect(one('ctl:+ tid=7 epoll_fd=4, event_fd=5 ev=None')).toEqual([I({ op: 'delete', tid: '7' })]);
  });

  it('9ae5e98..e1c433b: `events=` hex, `u64=` decimal', () => {
    expect(
      one('ctl:+ tid=7 epoll_fd=4, event_fd=5 libc::epoll_event { events=4000201b u64=18446744073709551615 }'),
    ).toEqual([I({ key: NOTIFY_KEY, flags: 0x4000201b, tid: '7' })]);
    expect(one('ctl:+ tid=7 epoll_fd=4, event_fd=5 libc::epoll_event { events=40000000 u64=10 }')).toEqual([
      I({ key: 10, flags: 0x40000000, tid: '7' }),
    ]);
  });

  it('v1..v5: hex `{ events: … u64: … }`, fd= from v3', () => {
    expect(one('ctl:+ tid=7 epoll_fd=4, event_fd=5 { events: 4000201b u64: ffffffffffffffff }')).toEqual([
      I({ key: NOTIFY_KEY, flags: 0x4000201b, tid: '7' }),
    ]);
    expect(one('ctl:+ tid=7 epoll_fd=4, fd=9 event_fd=5 { events: 4000001c u64: 10 }')).toEqual([
      I({ targetFd: 9, key: 16, flags: 0x4000001c, tid: '7' }),
    ]);
    expect(one('ctl:+ tid=7 epoll_fd=4, fd=9 event_fd=5 ev=None')).toEqual([
      I({ op: 'delete', targetFd: 9, tid: '7' }),
    ]);
    expect(one('ctl:+ epoll_fd=7, fd=9 event_fd=8 { events: 4000201f u64: 2 }')).toEqual([
      I({ fd: 7, targetFd: 9, key: 2, flags: 0x4000201f }),
    ]);
  });

  it('v6: explicit op', () => {
    expect(one('ctl:+ MOD epoll_fd=7, fd=9 event_fd=8 { events: 4000201b u64: 2 }')).toEqual([
      I({ fd: 7, targetFd: 9, key: 2, flags: 0x4000201b }),
    ]);
    expect(one('ctl:+ ADD epoll_fd=7, fd=10 event_fd=8 { events: 40000000 u64: 3 }')).toEqual([
      I({ op: 'add', fd: 7, targetFd: 10, key: 3, flags: 0x40000000 }),
    ]);
    expect(one('ctl:+ DEL epoll_fd=7, fd=10 event_fd=8 ev=None')).toEqual([I({ op: 'delete', fd: 7, targetFd: 10 })]);
  });

  it('ctl:- every variant: recognised, no event', () => {
    none('ctl:- epoll_fd=4, event_fd=5 result=Ok(0)');
    none(
      'ctl:- epoll_fd=4, event_fd=5, ev=Some(Event { key: 18446744073709551615, readable: true, writable: false }) result=Ok(0)',
    );
    none('ctl:- result=Ok(0)');
    none('ctl:- tid=7 epoll_fd=4, fd=9 event_fd=5 res=Ok(0)');
    none('ctl:- epoll_fd=7, fd=9 event_fd=8 res=Ok(0)');
    none('ctl:- MOD epoll_fd=7, fd=9 event_fd=8 res=Ok(0)');
  });
});

describe('add / modify / delete', () => {
  it('entries: Debug (decimal key) and Display (hex key)', () => {
    expect(one('add:+ epoll_fd=4, fd=9, ev=Event { key: 0, readable: false, writable: false }')).toEqual([
      { kind: 'interest', op: 'add', fd: 4, targetFd: 9, key: 0, flags: null, readable: false, writable: false },
    ]);
    expect(one('add:+ tid=7 epoll_fd=4, fd=9, ev=Event { key: 10, readable: false, writable: false }')).toEqual([
      {
        kind: 'interest',
        op: 'add',
        fd: 4,
        targetFd: 9,
        key: 10,
        flags: null,
        readable: false,
        writable: false,
        tid: '7',
      },
    ]);
    expect(one('add:+ tid=7 epoll_fd=4, fd=9, ev=Event { r: false w: false key: 10 } ')).toEqual([
      {
        kind: 'interest',
        op: 'add',
        fd: 4,
        targetFd: 9,
        key: 16,
        flags: null,
        readable: false,
        writable: false,
        tid: '7',
      },
    ]);
    expect(one('modify:+ epoll_fd=7, fd=8, ev=Event { r: true w: false key: ffffffffffffffff } ')).toEqual([
      {
        kind: 'interest',
        op: 'modify',
        fd: 7,
        targetFd: 8,
        key: NOTIFY_KEY,
        flags: null,
        readable: true,
        writable: false,
      },
    ]);
    expect(one('delete:+ tid=7 epoll_fd=4, fd=9')).toEqual([
      { kind: 'interest', op: 'delete', fd: 4, targetFd: 9, key: null, flags: null, tid: '7' },
    ]);
    expect(one('delete:+ epoll_fd=7, fd=9')).toEqual([
      { kind: 'interest', op: 'delete', fd: 7, targetFd: 9, key: null, flags: null },
    ]);
  });

  it('exits: recognised, no event', () => {
    none('add:- epoll_fd=4, fd=9, ev=Event { key: 0, readable: false, writable: false }');
    none('add:-');
    none('modify:- result=Ok(())');
    none('modify:- epoll_fd=4, fd=5, ev=Event { key: 18446744073709551615, readable: true, writable: false }');
    none('delete:- epoll_fd=4, fd=9');
    none('delete:- epoll_fd=7, fd=9, res=Ok(())');
    none('delete:- tid=7 epoll_fd=4, fd=9, res=Ok(())');
  });
});

describe('new / notify / drop', () => {
  it('`new:+ tid=N epoll_fd=…` is notify (copy-paste bug); bare `new:+` is Poller::new', () => {
    expect(one('new:+ tid=7 epoll_fd=4, event_fd=5')).toEqual([{ kind: 'notify', fd: 4, tid: '7' }]);
    none('new:+ tid=1');
    none('new:+');
  });
  it('new:- is the poller', () => {
    expect(one('new:- epoll_fd=4, event_fd=5, timer_fd=Some(6)')).toEqual([
      { kind: 'poller_new', poller: 'epoll', fd: 4, eventFd: 5, timerFd: 6 },
    ]);
    expect(one('new:- epoll_fd=4, event_fd=5, timer_fd=None')).toEqual([
      { kind: 'poller_new', poller: 'epoll', fd: 4, eventFd: 5, timerFd: null },
    ]);
  });
  it('notify:+ with and without tid; notify:- and drop: no event', () => {
    expect(one('notify:+ epoll_fd=7, event_fd=8')).toEqual([{ kind: 'notify', fd: 7 }]);
    expect(one('notify:+ tid=4 epoll_fd=7, event_fd=8')).toEqual([{ kind: 'notify', fd: 7, tid: '4' }]);
    none('notify:- epoll_fd=7, event_fd=8');
    none('notify:- tid=4 epoll_fd=7, event_fd=8');
    none('drop:+ tid=1 epoll_fd=7, event_fd=8, timer_fd=Some(9)');
    none('drop:- epoll_fd=7, event_fd=8, timer_fd=Some(9)');
  });
});

describe('upstream shapes are left to polling2', () => {
  it.each([
    'wait: epoll_fd=3, timeout=None',
    'new events: epoll_fd=3, res=1',
    'new: epoll_fd=3, event_fd=4, timer_fd=Some(5)',
    'modify: epoll_fd=3, fd=5, ev=Event { key: 18446744073709551615, readable: true, writable: false }',
    'remove: epoll_fd=3, fd=9',
    'notify: epoll_fd=3, event_fd=4',
    'drop: epoll_fd=3, event_fd=4, timer_fd=Some(5)',
    'new events epoll_fd=3 res=1',
    'tid=7 something else',
  ])('%s', (m) => {
    expect(run(d, rec(E, m))).toEqual({ ok: false, events: [] });
  });
});
