/**
 * Cardinality: the series come from configuration (relay names) and fixed label sets, never from
 * log content. A log with 10,000 distinct epoll fds, threads and targets must leave the number of
 * series where a 3-fd log leaves it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PollscopeMetrics } from '../../src/export/metrics.js';
import { replay } from '../../src/replay.js';
import { samples } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-metrics-card-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * env_logger with source line and thread id (E7, `[ts LEVEL target line tid]`): per i, a wait on
 * epoll_fd i, a swarm poll cycle on thread i and a line from target `noise_i::conn`.
 */
function distinctLog(n: number): string {
  const out: string[] = [];
  let us = 0;
  const ts = () => {
    us += 37;
    return (
      new Date(Date.UTC(2022, 4, 5, 9, 12, 5) + Math.floor(us / 1000)).toISOString().slice(0, 19) +
      `.${String(us % 1_000_000).padStart(6, '0')}Z`
    );
  };
  for (let i = 0; i < n; i++) {
    const fd = 100 + i;
    const tid = 1000 + i;
    out.push(`[${ts()} TRACE polling::epoll 620 ${tid}] wait:+ epoll_fd=${fd}, timeout=Some(10ms)`);
    out.push(`[${ts()} TRACE polling::epoll 640 ${tid}] wait: running epoll_fd=${fd}, events.len=1 events.list:`);
    out.push(`[${ts()} TRACE polling::epoll 650 ${tid}] wait: list[0] libc::epoll_event { events: 1 u64: ${i} } `);
    out.push(`[${ts()} TRACE polling::epoll 660 ${tid}] wait:- epoll_fd=${fd}, res=1`);
    out.push(`[${ts()} TRACE libp2p_swarm 1210 ${tid}] Swarm<TBehavior>::Stream::poll_next:+`);
    out.push(
      `[${ts()} TRACE libp2p_swarm 1290 ${tid}] Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): ${i % 2 === 0}`,
    );
    out.push(`[${ts()} DEBUG noise_${i}::conn 77 ${tid}] peer ${i} said hello`);
  }
  return out.join('\n') + '\n';
}

async function relaySeries(n: number): Promise<{ series: string[]; waits: number; polls: number; targets: number }> {
  const file = path.join(tmp, `distinct-${n}.log`);
  writeFileSync(file, distinctLog(n));
  const metrics = new PollscopeMetrics({ live: true });
  const sink = metrics.forRelay('relay-a');
  const report = await replay([file], {
    relay: 'relay-a',
    sinks: [sink],
    onPipeline: (pipeline) => sink.attach(pipeline),
  });
  const series = [...samples(await metrics.render('prometheus')).keys()].filter((k) => /^(relay|pollscope)_/.test(k));
  return {
    series,
    waits: report.waits.count,
    polls: report.pollCycles.count,
    targets: Object.keys(report.lines.byTarget).length,
  };
}

describe('cardinality', () => {
  it('10,000 distinct fds, threads and targets leave the number of series unchanged', async () => {
    const small = await relaySeries(3);
    const large = await relaySeries(10_000);
    // The log really holds what it should: every fd's wait and every thread's poll cycle was seen.
    expect([small.waits, small.polls]).toEqual([3, 3]);
    expect([large.waits, large.polls]).toEqual([10_000, 10_000]);
    expect(large.targets).toBeGreaterThan(1000); // the report keeps 1,000 apart, the rest as one
    expect(large.series).toEqual(small.series);
    // ~300 for the reactor, ~100 for the libp2p poll-span histograms (4 spans × 23 series): fixed per relay.
    expect(large.series.length).toBeLessThan(450);
    expect(large.series.every((s) => !/fd|tid|thread|target|noise/.test(s))).toBe(true);
  });
});
