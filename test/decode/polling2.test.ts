import { describe, expect, it } from 'vitest';
import { rec, run, fixture } from './support.js';
import { NOTIFY_KEY, type ReactorEvent } from '../../src/decode/events.js';
import { Polling2Decoder } from '../../src/decode/polling2.js';

const d = new Polling2Decoder();
const E = 'polling::epoll';

describe('polling 2.x epoll, real lines', () => {
  it('aquadoggo-25: wait start with a timeout, then its timerfd arm', () => {
    const recs = fixture('real/aquadoggo-25.log');
    expect(run(d, recs[0])).toEqual({
      ok: true,
      events: [{ kind: 'wait_start', poller: 'epoll', fd: 3, timeoutNs: 569_999_073_677 }],
    });
    expect(run(d, recs[1])).toEqual({
      ok: true,
      events: [
        {
          kind: 'interest',
          op: 'modify',
          fd: 3,
          targetFd: 5,
          key: NOTIFY_KEY,
          flags: null,
          readable: true,
          writable: false,
        },
      ],
    });
  });

  it('lapin-392: wait start with timeout None, then its timerfd arm', () => {
    const recs = fixture('real/lapin-392.log');
    expect(recs[2].target).toBe(E);
    expect(run(d, recs[2]).events).toEqual([{ kind: 'wait_start', poller: 'epoll', fd: 9, timeoutNs: null }]);
    expect(run(d, recs[3]).events).toEqual([
      {
        kind: 'interest',
        op: 'modify',
        fd: 9,
        targetFd: 11,
        key: NOTIFY_KEY,
        flags: null,
        readable: true,
        writable: false,
      },
    ]);
  });

  it('wezterm-4304: one complete wait and its re-arms', () => {
    const recs = fixture('real/wezterm-4304.log');
    const got: Array<[number, ReactorEvent[]]> = [];
    recs.forEach((r, i) => {
      if (!r.target.startsWith('polling')) return;
      const { ok, events } = run(d, r);
      expect(ok, r.message).toBe(true);
      got.push([i + 1, events]);
    });
    const mod = (fd: number, key: number) => ({
      kind: 'interest',
      op: 'modify',
      fd: 5,
      targetFd: fd,
      key,
      flags: null,
      readable: true,
      writable: false,
    });
    expect(got).toEqual([
      [1, [mod(6, NOTIFY_KEY)]],
      [4, [mod(10, 0)]],
      [9, []], // Poller::wait(_, None): API entry, not a wait start
      [10, [{ kind: 'wait_start', poller: 'epoll', fd: 5, timeoutNs: null }]],
      [12, [mod(7, NOTIFY_KEY)]],
      [13, [{ kind: 'wait_end', poller: 'epoll', fd: 5, res: 1 }]],
      [14, [mod(6, NOTIFY_KEY)]],
    ]);
  });
});

describe('polling 2.x epoll, documented shapes', () => {
  it('new / add / remove / notify / drop', () => {
    expect(run(d, rec(E, 'new: epoll_fd=3, event_fd=4, timer_fd=Some(5)')).events).toEqual([
      { kind: 'poller_new', poller: 'epoll', fd: 3, eventFd: 4, timerFd: 5 },
    ]);
    expect(run(d, rec(E, 'new: epoll_fd=3, event_fd=4, timer_fd=None')).events).toEqual([
      { kind: 'poller_new', poller: 'epoll', fd: 3, eventFd: 4, timerFd: null },
    ]);
    expect(
      run(d, rec(E, 'add: epoll_fd=3, fd=5, ev=Event { key: 18446744073709551615, readable: false, writable: false }'))
        .events,
    ).toEqual([
      {
        kind: 'interest',
        op: 'add',
        fd: 3,
        targetFd: 5,
        key: NOTIFY_KEY,
        flags: null,
        readable: false,
        writable: false,
      },
    ]);
    expect(
      run(d, rec(E, 'add: epoll_fd=3, fd=9, ev=Event { key: 2, readable: false, writable: false }')).events,
    ).toEqual([
      { kind: 'interest', op: 'add', fd: 3, targetFd: 9, key: 2, flags: null, readable: false, writable: false },
    ]);
    expect(run(d, rec(E, 'remove: epoll_fd=3, fd=9')).events).toEqual([
      { kind: 'interest', op: 'delete', fd: 3, targetFd: 9, key: null, flags: null },
    ]);
    expect(run(d, rec(E, 'notify: epoll_fd=3, event_fd=4')).events).toEqual([{ kind: 'notify', fd: 3 }]);
    expect(run(d, rec(E, 'drop: epoll_fd=3, event_fd=4, timer_fd=Some(5)'))).toEqual({ ok: true, events: [] });
  });

  it('32-bit usize::MAX key is NOTIFY_KEY too', () => {
    expect(
      run(d, rec(E, 'modify: epoll_fd=3, fd=5, ev=Event { key: 4294967295, readable: true, writable: false }'))
        .events[0],
    ).toMatchObject({ key: NOTIFY_KEY });
  });

  it('E6 / T1a / T5 envelopes carry the same messages', () => {
    expect(run(d, rec(E, 'wait: epoll_fd=4, timeout=None')).events).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 4, timeoutNs: null },
    ]);
    expect(run(d, rec(E, 'new events: epoll_fd=3, res=1')).events).toEqual([
      { kind: 'wait_end', poller: 'epoll', fd: 3, res: 1 },
    ]);
    expect(run(d, rec(E, 'wait: epoll_fd=3, timeout=Some(50ms)')).events[0]).toMatchObject({ timeoutNs: 50_000_000 });
    expect(run(d, rec(E, 'wait: epoll_fd=3, timeout=Some(0ns)')).events[0]).toMatchObject({ timeoutNs: 0 });
  });

  it('target `polling`: API entries and the skipped wait', () => {
    expect(run(d, rec('polling', 'Poller::wait(_, None)'))).toEqual({ ok: true, events: [] });
    expect(run(d, rec('polling', 'Poller::wait(_, Some(2.5s))'))).toEqual({ ok: true, events: [] });
    expect(run(d, rec('polling', 'wait: skipping because another thread is already waiting on I/O'))).toEqual({
      ok: true,
      events: [],
    });
    expect(run(d, rec('polling', 'Poller::notify()'))).toEqual({ ok: true, events: [{ kind: 'notify', fd: null }] });
  });

  it('fork b314e91..2b9a283 `add: … backtrace:` duplicates the `add:+` entry: no event', () => {
    const m =
      'add: epoll_fd=4, fd=9, ev=Event { key: 0, readable: false, writable: false } backtrace:\n' +
      '   0: std::backtrace_rs::backtrace::libunwind::trace\n             at /rustc/abc/library/std/src/../../backtrace/src/backtrace/libunwind.rs:93:5';
    expect(run(d, rec(E, m))).toEqual({ ok: true, events: [] });
  });

  it('leaves fork, 3.x and wepoll shapes alone', () => {
    for (const m of [
      'wait:+ epoll_fd=4, timeout=None',
      'wait: running epoll_fd=4, events.len=1 events.list:',
      'modify:+ tid=7 epoll_fd=4, fd=5, ev=Event { key: 18446744073709551615, readable: true, writable: false }',
      'new events epoll_fd=3 res=1',
      'new epoll_fd=3 notifier=EventFd(OwnedFd { fd: 4 })',
      'wait: handle=0x1f0, timeout=None',
      'new:+ tid=7',
      'ctl:+ MOD epoll_fd=7, fd=9 event_fd=8 { events: 4000201b u64: 2 }',
    ])
      expect(run(d, rec(E, m)), m).toEqual({ ok: false, events: [] });
  });
});

describe('polling 2.x kqueue and poll backends', () => {
  const K = 'polling::kqueue';
  it('kqueue wait start and end, new, notify, drop', () => {
    expect(run(d, rec(K, 'wait: kqueue_fd=5, timeout=Some(4.99962s)')).events).toEqual([
      { kind: 'wait_start', poller: 'kqueue', fd: 5, timeoutNs: 4_999_620_000 },
    ]);
    expect(run(d, rec(K, 'wait: kqueue_fd=5, timeout=Some(2.5s)')).events[0]).toMatchObject({
      timeoutNs: 2_500_000_000,
    });
    expect(run(d, rec(K, 'new events: kqueue_fd=5, res=1')).events).toEqual([
      { kind: 'wait_end', poller: 'kqueue', fd: 5, res: 1 },
    ]);
    expect(run(d, rec(K, 'new: kqueue_fd=5, read_stream=UnixStream { fd: 6 }')).events).toEqual([
      { kind: 'poller_new', poller: 'kqueue', fd: 5, eventFd: null, timerFd: null },
    ]);
    expect(run(d, rec(K, 'new: kqueue_fd=5')).events).toEqual([
      { kind: 'poller_new', poller: 'kqueue', fd: 5, eventFd: null, timerFd: null },
    ]);
    expect(run(d, rec(K, 'notify: kqueue_fd=5')).events).toEqual([{ kind: 'notify', fd: 5 }]);
    expect(run(d, rec(K, 'drop: kqueue_fd=5'))).toEqual({ ok: true, events: [] });
  });
  it('kqueue `add:` is written by add, modify and delete alike: reported as modify', () => {
    expect(
      run(d, rec(K, 'add: kqueue_fd=5, fd=8, ev=Event { key: 1, readable: true, writable: false }')).events,
    ).toEqual([
      { kind: 'interest', op: 'modify', fd: 5, targetFd: 8, key: 1, flags: null, readable: true, writable: false },
    ]);
  });
  it('poll backend', () => {
    const P = 'polling::poll';
    expect(run(d, rec(P, 'new: notify_read=3, notify_write=4')).events).toEqual([
      { kind: 'poller_new', poller: 'poll', fd: 3, eventFd: null, timerFd: null },
    ]);
    expect(run(d, rec(P, 'wait: notify_read=3, timeout=None')).events).toEqual([
      { kind: 'wait_start', poller: 'poll', fd: 3, timeoutNs: null },
    ]);
    expect(run(d, rec(P, 'new events: notify_read=3, num=2')).events).toEqual([
      { kind: 'wait_end', poller: 'poll', fd: 3, res: 2 },
    ]);
    expect(
      run(d, rec(P, 'add: notify_read=3, fd=7, ev=Event { key: 0, readable: true, writable: false }')).events,
    ).toEqual([
      { kind: 'interest', op: 'add', fd: 3, targetFd: 7, key: 0, flags: null, readable: true, writable: false },
    ]);
    expect(
      run(d, rec(P, 'modify: notify_read=3, fd=7, ev=Event { key: 0, readable: false, writable: true }')).events[0],
    ).toMatchObject({ op: 'modify', writable: true });
    expect(run(d, rec(P, 'delete: notify_read=3, fd=7')).events).toEqual([
      { kind: 'interest', op: 'delete', fd: 3, targetFd: 7, key: null, flags: null },
    ]);
    expect(run(d, rec(P, 'notify: notify_read=3')).events).toEqual([{ kind: 'notify', fd: 3 }]);
    expect(run(d, rec(P, 'drop: notify_read=3'))).toEqual({ ok: true, events: [] });
  });
});
