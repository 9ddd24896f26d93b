import { describe, expect, it } from 'vitest';
import { rec, run } from './support.js';
import { NOTIFY_KEY } from '../../src/decode/events.js';
import { Polling3Decoder } from '../../src/decode/polling3.js';

const E = 'polling::epoll';

const WAIT_SPANS = 'Poller::wait{timeout=None}:wait{epoll_fd=3 timeout=None}';

describe('plain tracing: only the end', () => {
  const d = new Polling3Decoder();
  it('T1d: `new events` inside the wait span', () => {
    expect(run(d, rec(E, 'new events epoll_fd=3 res=1', WAIT_SPANS))).toEqual({
      ok: true,
      events: [{ kind: 'wait_end', poller: 'epoll', fd: 3, res: 1 }],
    });
  });
  it('async-io 2.x context prefix and T1a thread', () => {
    expect(
      run(d, rec(E, 'new events epoll_fd=5 res=2', `async_io::main_loop:react:${WAIT_SPANS.replace('3', '5')}`, '7'))
        .events,
    ).toEqual([{ kind: 'wait_end', poller: 'epoll', fd: 5, res: 2 }]);
  });
  it('T2 Compact: span fields appended to the message', () => {
    expect(
      run(d, rec(E, 'new events epoll_fd=3 res=1 timeout=None epoll_fd=3 timeout=None', 'Poller::wait:wait')).events,
    ).toEqual([{ kind: 'wait_end', poller: 'epoll', fd: 3, res: 1 }]);
  });
  it('fields missing from the message come from the innermost span', () => {
    expect(run(d, rec(E, 'new events res=4', WAIT_SPANS)).events).toEqual([
      { kind: 'wait_end', poller: 'epoll', fd: 3, res: 4 },
    ]);
    expect(run(d, rec(E, 'new events', WAIT_SPANS)).events).toEqual([
      { kind: 'wait_end', poller: 'epoll', fd: 3, res: null },
    ]);
  });
  it('JSON-rendered Debug value (`"res":"1"` → res=1)', () => {
    expect(
      run(d, rec(E, 'new events epoll_fd=3 res=1', 'Poller::wait{timeout=None}:wait{epoll_fd=3 timeout=None}'))
        .events[0],
    ).toMatchObject({ res: 1 });
  });
  it('kqueue 3.x', () => {
    expect(run(d, rec('polling::kqueue', 'new events kqueue_fd=5 res=1')).events).toEqual([
      { kind: 'wait_end', poller: 'kqueue', fd: 5, res: 1 },
    ]);
  });
  it('poll(2) backend (src/poll.rs, 3.x): `new events num_events=…` in span `wait{notify_read=…}`', () => {
    // trace!(?num_events, ?notified, ?num_fd_events, "new events") inside trace_span!("wait", notify_read = …, ?timeout)
    expect(
      run(
        d,
        rec(
          'polling::poll',
          'new events num_events=2 notified=true num_fd_events=1',
          'Poller::wait{timeout=None}:wait{notify_read=5 timeout=None}',
        ),
      ).events,
    ).toEqual([{ kind: 'wait_end', poller: 'poll', fd: 5, res: 2 }]);
  });
  it('`wait: skipping because another thread is already waiting on I/O` (src/lib.rs): recognised, no wait', () => {
    expect(
      run(
        d,
        rec('polling', 'wait: skipping because another thread is already waiting on I/O', 'Poller::wait{timeout=None}'),
      ),
    ).toEqual({ ok: true, events: [] });
  });
  it('the once-per-Poller `new` event', () => {
    expect(
      run(d, rec(E, 'new epoll_fd=3 notifier=EventFd(OwnedFd { fd: 4 }) timer_fd=Some(OwnedFd { fd: 5 })')).events,
    ).toEqual([{ kind: 'poller_new', poller: 'epoll', fd: 3, eventFd: 4, timerFd: 5 }]);
    expect(
      run(d, rec(E, 'new epoll_fd=3 notifier=Pipe { read_pipe: OwnedFd { fd: 4 }, write_pipe: OwnedFd { fd: 5 } }'))
        .events,
    ).toEqual([{ kind: 'poller_new', poller: 'epoll', fd: 3, eventFd: null, timerFd: null }]);
    expect(run(d, rec(E, 'created eventfd for notifier'))).toEqual({ ok: true, events: [] });
    expect(run(d, rec(E, 'eventfd() failed with error (Too many open files), falling back to pipe')).ok).toBe(true);
  });
});

describe('FmtSpan lifecycle of span `wait`', () => {
  it('FULL: new starts, enter/exit add nothing, `new events` ends, close adds nothing', () => {
    const d = new Polling3Decoder();
    const seq = [
      rec('polling', 'new', 'Poller::wait{timeout=None}'),
      rec('polling', 'enter', 'Poller::wait{timeout=None}'),
      rec(E, 'new', WAIT_SPANS),
      rec(E, 'enter', WAIT_SPANS),
      rec(E, 'new events epoll_fd=3 res=1', WAIT_SPANS),
      rec(E, 'exit', WAIT_SPANS),
      rec(E, 'close time.busy=4.99s time.idle=6.1µs', WAIT_SPANS),
      rec('polling', 'exit', 'Poller::wait{timeout=None}'),
      rec('polling', 'close time.busy=4.99s time.idle=20.0µs', 'Poller::wait{timeout=None}'),
    ];
    const got = seq.map((r) => run(d, r));
    expect(got.every((g) => g.ok)).toBe(true);
    expect(got.flatMap((g) => g.events)).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 3, timeoutNs: null },
      { kind: 'wait_end', poller: 'epoll', fd: 3, res: 1 },
    ]);
  });

  it('CLOSE only, no `new events` (filtered): close ends with busy/idle', () => {
    const d = new Polling3Decoder();
    expect(
      run(
        d,
        rec(E, 'close time.busy=4.99s time.idle=6.1µs', `Poller::wait{timeout=None}:wait{epoll_fd=3 timeout=None}`),
      ).events,
    ).toEqual([{ kind: 'wait_end', poller: 'epoll', fd: 3, res: null, busyNs: 4_990_000_000, idleNs: 6_100 }]);
  });

  it('ENTER|EXIT without NEW: enter starts', () => {
    const d = new Polling3Decoder();
    expect(run(d, rec(E, 'enter', 'wait{epoll_fd=3 timeout=Some(5s)}')).events).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 3, timeoutNs: 5_000_000_000 },
    ]);
    expect(run(d, rec(E, 'exit', 'wait{epoll_fd=3 timeout=Some(5s)}'))).toEqual({ ok: true, events: [] });
  });

  it('deadline (≥3.10): None → null, an Instant → undefined (not a duration)', () => {
    const d = new Polling3Decoder();
    expect(run(d, rec(E, 'new', 'Poller::wait{deadline=None}:wait{epoll_fd=3 deadline=None}')).events).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 3, timeoutNs: null },
    ]);
    const ev = run(d, rec(E, 'new', 'wait{epoll_fd=3 deadline=Some(Instant { tv_sec: 5, tv_nsec: 12 })}')).events[0];
    expect(ev).toMatchObject({ kind: 'wait_start', fd: 3 });
    expect(ev).toMatchObject({ kind: 'wait_start' });
    expect((ev as { timeoutNs?: number | null }).timeoutNs).toBeUndefined();
  });

  it('Compact FmtSpan: span fields come with the message', () => {
    const d = new Polling3Decoder();
    expect(run(d, rec(E, 'new timeout=None epoll_fd=3 timeout=None', 'Poller::wait:wait')).events).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 3, timeoutNs: null },
    ]);
  });

  it('another span`s lifecycle is not ours', () => {
    const d = new Polling3Decoder();
    expect(run(d, rec(E, 'new', 'Swarm::poll')).ok).toBe(false);
    expect(run(d, rec(E, 'close time.busy=1s time.idle=1s', '')).ok).toBe(false);
  });
});

describe('FmtSpan spans notify / add / modify / delete', () => {
  it('notify span `new` is a notify; the Poller::notify API span is not', () => {
    const d = new Polling3Decoder();
    expect(run(d, rec('polling', 'new', 'Poller::notify'))).toEqual({ ok: true, events: [] });
    expect(
      run(d, rec(E, 'new', 'Poller::notify:notify{epoll_fd=3 notifier=EventFd(OwnedFd { fd: 4 })}')).events,
    ).toEqual([{ kind: 'notify', fd: 3 }]);
    expect(
      run(d, rec(E, 'enter', 'Poller::notify:notify{epoll_fd=3 notifier=EventFd(OwnedFd { fd: 4 })}')).events,
    ).toEqual([]);
  });
  it('add / modify / delete spans give the registration', () => {
    const d = new Polling3Decoder();
    expect(
      run(
        d,
        rec(
          E,
          'new',
          'add{epoll_fd=3 fd=7 ev=Event { key: 0, readable: false, writable: false, extra: EventExtra { flags: 0 } }}',
        ),
      ).events,
    ).toEqual([
      { kind: 'interest', op: 'add', fd: 3, targetFd: 7, key: 0, flags: null, readable: false, writable: false },
    ]);
    expect(
      run(
        d,
        rec(
          E,
          'new',
          `${WAIT_SPANS}:modify{epoll_fd=3 fd=BorrowedFd { fd: 5 } ev=Event { key: 18446744073709551615, readable: true, writable: false, extra: EventExtra { flags: 0 } }}`,
        ),
      ).events,
    ).toEqual([
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
    ]);
    expect(run(d, rec(E, 'new', 'delete{epoll_fd=3 fd=BorrowedFd { fd: 7 }}')).events).toEqual([
      { kind: 'interest', op: 'delete', fd: 3, targetFd: 7, key: null, flags: null },
    ]);
    expect(
      run(d, rec(E, 'close time.busy=2.1µs time.idle=1.0µs', 'delete{epoll_fd=3 fd=BorrowedFd { fd: 7 }}')),
    ).toEqual({ ok: true, events: [] });
  });
});

describe('tracing → log bridge (3.5)', () => {
  it('span creation starts the wait; enter/exit/close add nothing; `new events` ends it', () => {
    const d = new Polling3Decoder();
    const seq = [
      rec(E, 'wait; epoll_fd=3 timeout=None'),
      rec('tracing::span::active', '-> wait;'),
      rec(E, 'new events epoll_fd=3 res=1'),
      rec('tracing::span::active', '<- wait;'),
      rec('tracing::span', '-- wait;'),
    ];
    const got = seq.map((r) => run(d, r));
    expect(got.every((g) => g.ok)).toBe(true);
    expect(got.flatMap((g) => g.events)).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 3, timeoutNs: null },
      { kind: 'wait_end', poller: 'epoll', fd: 3, res: 1 },
    ]);
  });
  it('`++ wait; …` (a subscriber present) and Some timeout', () => {
    const d = new Polling3Decoder();
    expect(run(d, rec(E, '++ wait; epoll_fd=3 timeout=Some(569.999073677s)')).events).toEqual([
      { kind: 'wait_start', poller: 'epoll', fd: 3, timeoutNs: 569_999_073_677 },
    ]);
  });
  it('other bridged spans are not ours', () => {
    const d = new Polling3Decoder();
    expect(run(d, rec('tracing::span::active', '-> parse_headers;')).ok).toBe(false);
    expect(run(d, rec('hyper::proto::h1::role', '-> parse_headers')).ok).toBe(false);
  });
});

describe('polling 2.x shapes are not 3.x', () => {
  it.each([
    'new events: epoll_fd=3, res=1',
    'new: epoll_fd=3, event_fd=4, timer_fd=Some(5)',
    'wait: epoll_fd=3, timeout=None',
  ])('%s', (m) => {
    expect(run(new Polling3Decoder(), rec(E, m))).toEqual({ ok: false, events: [] });
  });
});
