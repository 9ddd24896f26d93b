/**
 * Readiness and poll starts stamped in the same whole second are ordered by the file, not by
 * their (equal) stamps. Lines verbatim from test/real-relay/fixtures/stalls.env-secs.log
 * (env_logger 0.9 default format, polling 2.2.0, async-io 1.11): the swarm's last poll starts
 * and ends in second 46, then the reactor thread's epoll_wait returns I/O for the swarm in the
 * same second 46 while another task blocks the executor thread until second 49.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay.js';
import type { StallObservation, WakeToPollObservation } from '../../src/reactor/observations.js';
import { formatTime } from '../../src/time.js';

const BEFORE = [
  '[2026-11-26T08:49:46Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:+',
  '[2026-11-26T08:49:46Z TRACE polling::epoll] modify: epoll_fd=4, fd=3, ev=Event { key: 0, readable: true, writable: false }',
  '[2026-11-26T08:49:46Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): false',
  '[2026-11-26T08:49:46Z TRACE async_io::driver] main_loop: waiting on I/O',
  '[2026-11-26T08:49:46Z TRACE async_io::reactor] process_timers: 0 ready wakers',
  '[2026-11-26T08:49:46Z TRACE polling] Poller::wait(_, None)',
  '[2026-11-26T08:49:46Z TRACE polling::epoll] wait: epoll_fd=4, timeout=None',
  '[2026-11-26T08:49:46Z TRACE polling::epoll] modify: epoll_fd=4, fd=6, ev=Event { key: 18446744073709551615, readable: true, writable: false }',
  '[2026-11-26T08:49:46Z TRACE polling::epoll] new events: epoll_fd=4, res=1',
  '[2026-11-26T08:49:46Z TRACE polling::epoll] modify: epoll_fd=4, fd=5, ev=Event { key: 18446744073709551615, readable: true, writable: false }',
  '[2026-11-26T08:49:46Z TRACE async_io::reactor] react: 1 ready wakers',
  '[2026-11-26T08:49:46Z TRACE async_io::driver] main_loop: sleeping for 50 us',
  '[2026-11-26T08:49:46Z TRACE async_io::driver] main_loop: waiting on I/O',
  '[2026-11-26T08:49:46Z TRACE async_io::reactor] process_timers: 0 ready wakers',
  '[2026-11-26T08:49:46Z TRACE polling] Poller::wait(_, None)',
  '[2026-11-26T08:49:46Z TRACE polling::epoll] wait: epoll_fd=4, timeout=None',
  '[2026-11-26T08:49:46Z TRACE polling::epoll] modify: epoll_fd=4, fd=6, ev=Event { key: 18446744073709551615, readable: true, writable: false }',
];
const AFTER = [
  '[2026-11-26T08:49:49Z TRACE async_io::driver] block_on: notified',
  '[2026-11-26T08:49:49Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:+',
  '[2026-11-26T08:49:49Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): true',
];

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-accuracy-'));

async function replayLines(name: string, lines: string[]) {
  const file = path.join(tmp, name);
  writeFileSync(file, lines.join('\n') + '\n');
  const stalls: StallObservation[] = [];
  const delays: WakeToPollObservation[] = [];
  const report = await replay([file], { sinks: [{ stall: (s) => stalls.push(s), wakeToPoll: (d) => delays.push(d) }] });
  return { report, stalls, delays };
}

describe('whole-second stamps: readiness vs. a poll start in the same second', () => {
  it('readiness logged after the last poll start, same second: the swarm is starved until the next poll (3 s)', async () => {
    const { report, stalls, delays } = await replayLines('after.log', [...BEFORE, ...AFTER]);
    expect(report.wakeups.io).toBe(1);
    expect(delays.map((d) => d.delayNs)).toEqual([3e9]);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toMatchObject({ kind: 'starved', durationNs: 3e9 });
    expect(formatTime(stalls[0].start)).toBe('2026-11-26T08:49:46Z');
  });

  it('a poll start logged after the readiness, same second, takes it: no starvation', async () => {
    const pollAgain = [
      '[2026-11-26T08:49:46Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:+',
      '[2026-11-26T08:49:46Z TRACE libp2p_swarm] Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): false',
    ];
    // The poll starts between `new events` and async-io's `react:` that decides the wake was I/O.
    const lines = [...BEFORE.slice(0, 10), ...pollAgain, ...BEFORE.slice(10), ...AFTER];
    const { report, stalls, delays } = await replayLines('before.log', lines);
    expect(report.wakeups.io).toBe(1);
    expect(delays).toEqual([]);
    expect(stalls).toEqual([]);
  });
});
