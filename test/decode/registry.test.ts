import { describe, expect, it } from 'vitest';
import { rec, fixture } from './support.js';
import type { LogRecord } from '../../src/parse/record.js';
import { NOTIFY_KEY, type ReactorEvent } from '../../src/decode/events.js';
import type { ReactorEventSink } from '../../src/decode/events.js';
import { DecoderRegistry, createDecoders } from '../../src/decode/registry.js';

/**
 * What Ingest does per record: the target's decoders in order until one recognises it; true if
 * one did, false if none did, undefined if no decoder reads the target.
 */
function decode(reg: DecoderRegistry, r: LogRecord, sink: ReactorEventSink): boolean | undefined {
  const ds = reg.forTarget(r.target);
  return ds === undefined ? undefined : ds.some((d) => d.decode(r, sink));
}

function replay(reg: DecoderRegistry, recs: LogRecord[]) {
  const events: Array<[number, ReactorEvent]> = [];
  const outcome: Array<boolean | undefined> = [];
  recs.forEach((r, i) => {
    outcome.push(
      decode(reg, r, {
        event: (ev) => {
          events.push([i + 1, ev]);
        },
      }),
    );
  });
  return { events, outcome };
}

describe('the decoders and the registry', () => {
  it('has one decoder per emitter, each with its targets', () => {
    expect(createDecoders().map((d) => d.name)).toEqual([
      'polling2',
      'polling-fork',
      'polling3',
      'async-io',
      'swarm',
      'libp2p',
    ]);
    const reg = new DecoderRegistry();
    expect(reg.forTarget('polling::epoll')?.map((d) => d.name)).toEqual(['polling2', 'polling-fork', 'polling3']);
    expect(reg.forTarget('polling')?.map((d) => d.name)).toEqual(['polling2', 'polling3']);
    expect(reg.forTarget('async_io::driver')?.map((d) => d.name)).toEqual(['async-io']);
    expect(reg.forTarget('libp2p_swarm')?.map((d) => d.name)).toEqual(['swarm', 'libp2p']);
    expect(reg.forTarget('libp2p_swarm::connection::pool')?.map((d) => d.name)).toEqual(['libp2p']);
    expect(reg.forTarget('libp2p_relay::behaviour::handler')?.map((d) => d.name)).toEqual(['libp2p']);
  });

  it('module paths below a known target fall back to it; unknown targets give undefined', () => {
    const reg = new DecoderRegistry();
    expect(reg.forTarget('async_io::reactor::unix')?.map((d) => d.name)).toEqual(['async-io']);
    expect(reg.forTarget('polling::epoll::inner')?.map((d) => d.name)).toEqual([
      'polling2',
      'polling-fork',
      'polling3',
    ]);
    expect(reg.forTarget('mio::poll')).toBeUndefined();
    expect(reg.forTarget('libp2p_swarm_derive')).toBeUndefined();
    expect(reg.forTarget('client')).toBeUndefined();
    expect(decode(reg, rec('mio::poll', 'registering with poller'), { event: () => {} })).toBeUndefined();
    expect(decode(reg, rec('polling::epoll', 'something else'), { event: () => {} })).toBe(false);
  });

  it('seed excerpt: all 8 lines decoded as the README expects', () => {
    const { events, outcome } = replay(new DecoderRegistry(), fixture('seed/relay_v2-excerpt.log'));
    expect(outcome).toEqual([true, true, true, true, true, true, true, true]);
    expect(events).toEqual([
      [1, { kind: 'poll_end', ready: false }],
      [2, { kind: 'wait_wake', fd: 4, res: 1 }],
      [3, { kind: 'wait_ready', fd: null, index: 0, flags: 1, key: 0 }],
      [
        4,
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
      [5, { kind: 'interest', op: 'modify', fd: 4, targetFd: null, key: NOTIFY_KEY, flags: 0x4000201b, tid: '7' }],
      [8, { kind: 'wait_end', poller: 'epoll', fd: 4, res: 1 }],
    ]);
  });

  it('wezterm-4304: every polling/async-io line decoded; one wait start/end pair', () => {
    const { events, outcome } = replay(new DecoderRegistry(), fixture('real/wezterm-4304.log'));
    expect(outcome.every((o) => o === true)).toBe(true);
    expect(events.filter(([, e]) => e.kind === 'wait_start' || e.kind === 'wait_end')).toEqual([
      [10, { kind: 'wait_start', poller: 'epoll', fd: 5, timeoutNs: null }],
      [13, { kind: 'wait_end', poller: 'epoll', fd: 5, res: 1 }],
    ]);
    expect(events.map(([l, e]) => `${l}:${e.kind}`)).toEqual([
      '1:interest',
      '2:react_done',
      '4:interest',
      '7:io_runner',
      '8:timers_processed',
      '10:wait_start',
      '12:interest',
      '13:wait_end',
      '14:interest',
      '15:react_done',
    ]);
  });

  it('aquadoggo-25 and lapin-392: one open wait each; other crates unknown', () => {
    const a = replay(new DecoderRegistry(), fixture('real/aquadoggo-25.log'));
    expect(a.events.map(([l, e]) => `${l}:${e.kind}`)).toEqual(['1:wait_start', '2:interest']);
    expect(a.outcome.slice(2).every((o) => o === undefined)).toBe(true);
    const l = replay(new DecoderRegistry(), fixture('real/lapin-392.log'));
    expect(l.events.map(([n, e]) => `${n}:${e.kind}`)).toEqual(['3:wait_start', '4:interest']);
    expect(l.outcome.every((o) => o === true)).toBe(true);
  });

  it('rust-libp2p-2609 and quilkin-660: nothing for us', () => {
    for (const f of ['real/rust-libp2p-2609.log', 'real/quilkin-660.jsonl']) {
      const r = replay(new DecoderRegistry(), fixture(f));
      expect(r.events).toEqual([]);
      expect(r.outcome.every((o) => o === undefined)).toBe(true);
    }
  });

  it("each registry has its own decoders: one run's FmtSpan state does not leak into the next", () => {
    const sink = {
      events: [] as ReactorEvent[],
      event(ev: ReactorEvent) {
        this.events.push(ev);
      },
    };
    const first = new DecoderRegistry();
    decode(first, rec('libp2p_swarm', 'close time.busy=1.00ms time.idle=2.00µs', 'Swarm::poll'), sink);
    decode(first, rec('libp2p_swarm', 'exit', 'Swarm::poll'), sink); // after a close was seen, exit ends nothing
    expect(sink.events).toHaveLength(1);
    decode(new DecoderRegistry(), rec('libp2p_swarm', 'exit', 'Swarm::poll'), sink);
    expect(sink.events).toHaveLength(2);
  });
});
