import { describe, expect, it } from 'vitest';
import { rec, run, fixture } from './support.js';
import type { ReactorEvent } from '../../src/decode/events.js';
import { AsyncIoDecoder } from '../../src/decode/async-io.js';

const DRIVER = 'async_io::driver';
const REACTOR = 'async_io::reactor';

describe('async-io 1.x, real lines', () => {
  it('lapin-392: driver parks and block_on calls are recognised, no events', () => {
    const d = new AsyncIoDecoder();
    const recs = fixture('real/lapin-392.log').filter((r) => r.target === DRIVER);
    expect(recs).toHaveLength(16);
    for (const r of recs) expect(run(d, r), r.message).toEqual({ ok: true, events: [] });
  });

  it('wezterm-4304: react, process_timers, block_on runs the wait', () => {
    const d = new AsyncIoDecoder();
    const got: Array<[number, ReactorEvent[]]> = [];
    fixture('real/wezterm-4304.log').forEach((r, i) => {
      if (!r.target.startsWith('async_io')) return;
      const { ok, events } = run(d, r);
      expect(ok, r.message).toBe(true);
      got.push([i + 1, events]);
    });
    expect(got).toEqual([
      [2, [{ kind: 'react_done', wakers: 1 }]],
      [3, []], // block_on: stops hogging the reactor
      [5, []], // main_loop: notified
      [6, []], // main_loop: sleeping for 50 us
      [7, [{ kind: 'io_runner', runner: 'block_on' }]],
      [8, [{ kind: 'timers_processed', wakers: 0 }]],
      [11, []], // main_loop: sleeping for 75 us
      [15, [{ kind: 'react_done', wakers: 1 }]],
    ]);
  });
});

describe('async-io 1.x, documented shapes', () => {
  const d = new AsyncIoDecoder();
  it('main_loop waiting on I/O', () => {
    expect(run(d, rec(DRIVER, 'main_loop: waiting on I/O')).events).toEqual([
      { kind: 'io_runner', runner: 'main_loop' },
    ]);
  });
  it('before 1.1.4 the driver lines were under async_io::reactor', () => {
    expect(run(d, rec(REACTOR, 'block_on: waiting on I/O')).events).toEqual([
      { kind: 'io_runner', runner: 'block_on' },
    ]);
  });
  it.each([
    'block_on()',
    'block_on: completed',
    'block_on: notified',
    'block_on: stops hogging the reactor',
    'block_on: sleep until notification',
    'main_loop: sleeping for 2500 us',
    'main_loop: notified',
    'readable: fd=5',
    'writable: fd=5',
    'readable_owned: fd=5',
    'writable_owned: fd=5',
  ])('%s: recognised, no event', (m) => {
    expect(run(d, rec(m.startsWith('read') || m.startsWith('writ') ? REACTOR : DRIVER, m))).toEqual({
      ok: true,
      events: [],
    });
  });
  it('counts', () => {
    expect(run(d, rec(REACTOR, 'process_timers: 3 ready wakers')).events).toEqual([
      { kind: 'timers_processed', wakers: 3 },
    ]);
    expect(run(d, rec(REACTOR, 'react: 0 ready wakers')).events).toEqual([{ kind: 'react_done', wakers: 0 }]);
  });
  it('other lines are not ours', () => {
    expect(run(d, rec(REACTOR, 'something else')).ok).toBe(false);
    expect(run(d, rec(REACTOR, 'react: ready')).ok).toBe(false);
  });
});

describe('async-io 2.x: context in the spans', () => {
  const d = new AsyncIoDecoder();
  it('`N ready wakers` by innermost span', () => {
    expect(run(d, rec(REACTOR, '0 ready wakers', 'async_io::main_loop:react:process_timers')).events).toEqual([
      { kind: 'timers_processed', wakers: 0 },
    ]);
    expect(run(d, rec(REACTOR, '3 ready wakers', 'async_io::main_loop:react')).events).toEqual([
      { kind: 'react_done', wakers: 3 },
    ]);
    expect(run(d, rec(REACTOR, '3 ready wakers', 'async_io::block_on:react')).events).toEqual([
      { kind: 'react_done', wakers: 3 },
    ]);
  });
  it('FmtSpan lifecycle lines of the driver/reactor spans (2.x) give no event: the counts and `waiting on I/O` carry the model', () => {
    // trace_span!("async_io::main_loop" | "async_io::block_on") in driver.rs, trace_span!("react" | "process_timers") in reactor.rs
    for (const [target, spans, m] of [
      [DRIVER, 'async_io::main_loop', 'new'],
      [DRIVER, 'async_io::block_on', 'enter'],
      [REACTOR, 'async_io::main_loop:react', 'close time.busy=12.3µs time.idle=1.2s'],
      [REACTOR, 'async_io::main_loop:react:process_timers', 'exit'],
    ])
      expect(run(d, rec(target, m, spans)).events).toEqual([]);
  });
  it('`waiting on I/O` by driver span', () => {
    expect(run(d, rec(DRIVER, 'waiting on I/O', 'async_io::main_loop')).events).toEqual([
      { kind: 'io_runner', runner: 'main_loop' },
    ]);
    expect(run(d, rec(DRIVER, 'waiting on I/O', 'async_io::block_on')).events).toEqual([
      { kind: 'io_runner', runner: 'block_on' },
    ]);
    expect(run(d, rec(DRIVER, 'waiting on I/O', ''))).toEqual({ ok: true, events: [] });
  });
  it.each([
    'sleeping for 50 us',
    'notified',
    'completed',
    'stops hogging the reactor',
    'sleep until notification',
    'readable fd=5',
    'writable_owned fd=7',
  ])('%s: recognised, no event', (m) => {
    expect(run(d, rec(DRIVER, m, 'async_io::main_loop'))).toEqual({ ok: true, events: [] });
  });
});

describe('winksaville async-io fork', () => {
  it('renamed process_timers count; its steps give nothing', () => {
    const d = new AsyncIoDecoder();
    expect(run(d, rec(REACTOR, 'Reactor::process_timers: 2 ready wakers')).events).toEqual([
      { kind: 'timers_processed', wakers: 2 },
    ]);
    for (const m of [
      'Reactor::process_timers:+ wakers.len=0',
      'Reactor::process_timers: wakers.len=0 timers locked',
      'Reactor::process_timers:- wakers.len=0 dur=Some(1.5s)',
      'Reactor::get:+ call crate::driver::init()',
      'Reactor::insert_io:+ raw fd=9',
      'Reactor::notify:+',
      'Reactor::insert_timer:+ id=3 when Instant { tv_sec: 1, tv_nsec: 2 }',
    ]) {
      expect(run(d, rec(REACTOR, m)), m).toEqual({ ok: true, events: [] });
    }
  });

  it('react: the wakers count line ends the react, `:-` then adds nothing', () => {
    const d = new AsyncIoDecoder();
    const seq = [
      'ReactorLock::react:+ tid=4 ',
      'ReactorLock::react: tid=4 tick=5 call events.clear()',
      'ReactorLock::react: tid=4 tick=5 1 I/O events+',
      'ReactorLock::react: tid=4 tick=5 1 I/O events-',
      'ReactLock::react: 3 wake up ready wakers',
      'ReactLock::react: wakeup worker=0 ',
      'ReactorLock::react:- tid=4 res=Ok(())',
    ].map((m) => run(d, rec(REACTOR, m)));
    expect(seq.every((g) => g.ok)).toBe(true);
    expect(seq.flatMap((g) => g.events)).toEqual([{ kind: 'react_done', wakers: 3 }]);
  });

  it('v14 count shape', () => {
    const d = new AsyncIoDecoder();
    const seq = [
      'ReactorLock::react:+ ',
      'ReactorLock::react: wake up 2 ready wakers',
      'ReactorLock::react: call waker.wake=0 ',
      'ReactorLock::react:- res=Ok(())',
    ].map((m) => run(d, rec(REACTOR, m)));
    expect(seq.flatMap((g) => g.events)).toEqual([{ kind: 'react_done', wakers: 2 }]);
  });

  it('`:- res=` without a count line (debug filtered): react_done with unknown wakers', () => {
    const d = new AsyncIoDecoder();
    run(d, rec(REACTOR, 'ReactorLock::react:+ '));
    const { events } = run(d, rec(REACTOR, 'ReactorLock::react:- res=Ok(())'));
    expect(events).toHaveLength(1);
    expect(events[0].kind).toBe('react_done');
    expect((events[0] as { wakers: number | null }).wakers).toBeNull();
  });

  it('main_loop v5+: the `call reactor_lock.react` line names the runner, its retf twin does not', () => {
    const d = new AsyncIoDecoder();
    expect(
      run(d, rec(DRIVER, 'main_loop: waiting on I/O have the lock, call reactor_lock.react(timeout: None)')).events,
    ).toEqual([{ kind: 'io_runner', runner: 'main_loop' }]);
    for (const m of [
      'main_loop: waiting on I/O have the lock, retf reactor_lock.react(timeout: None)',
      'main_loop:+',
      'main_loop: TOL sleeps=0',
      'main_loop: last_tick=4 tick=5 TRY to get the Reactor lock',
      'main_loop: block_on_count=1 > 0, sleeps=2',
    ]) {
      expect(run(d, rec(DRIVER, m)), m).toEqual({ ok: true, events: [] });
    }
  });

  it.each([
    'Source::poll_ready:+ dir=0 raw fd=9 tick=5 ticks=Some((4, 3))',
    'Source::poll_ready:+ dir=0 tick=5 ticks=Some((4, 3))',
    'Source::ready:+- dir=0 ready.ticks=None',
    'readable: raw fd=9',
    'writable_owned: raw fd=9',
    "Ready::Future::poll:+ Register current task's waker dir=0 raw fd=9 tick=5 ticks=None ",
    'Ready::Future::poll insert dir=0 raw fd=9 cx.waker().clone() at state[0].wakers[0]',
  ])('%s: recognised, no event', (m) => {
    expect(run(new AsyncIoDecoder(), rec(REACTOR, m))).toEqual({ ok: true, events: [] });
  });
});
