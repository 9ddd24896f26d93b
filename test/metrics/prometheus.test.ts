/**
 * A real Prometheus scrapes the real daemon: `pollscope run` follows a file into which the bundled
 * sample log is appended at the pace of its own timestamps; Prometheus (Debian's package, started
 * here on loopback with a temporary config and storage) scrapes it every second. Afterwards its
 * HTTP API must hold the wakeup counts, histogram sums and counts, stall counts and line counts the
 * daemon computed — and that a `replay` of the same lines computes — and it must have seen the
 * blocked poll live on relay_poll_stall_active_seconds. promtool checks what we serve.
 * Needs `npm run build` first (npm test does it).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/replay.js';
import { ROOT, WAIT_MS, stopChild, type StartedPrometheus } from '../helpers.js';
import { key, run, samples, scrape, scrapedWhileWritten } from './support.js';

const RELAY = 'relay-t';
/** samples/relay-stall.log up to 22:30:04.44 (3.4 s of log): a 1.5 s blocked poll at 22:30:02.38. */
const LINES = 520;
const BLOCKED_POLL = '300ms'; // the stall is active for 1.2 s: more than one scrape interval

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-prometheus-'));
const slice = path.join(tmp, 'slice.log');
const children: ChildProcess[] = [];

let prometheus: StartedPrometheus;
const query = (q: string) => prometheus.query(q);
/** One value per `label` value, from an instant query. */
async function byLabel(q: string, label: string): Promise<Record<string, number>> {
  return Object.fromEntries((await query(q)).map((s) => [s.metric[label] ?? '', Number(s.value[1])]));
}

describe('a real Prometheus scraping `pollscope run`', () => {
  let daemonUrl = '';

  beforeAll(async () => {
    writeFileSync(
      slice,
      readFileSync(path.join(ROOT, 'samples/relay-stall.log'), 'utf8').split('\n').slice(0, LINES).join('\n') + '\n',
    );
    ({ daemonUrl, prometheus } = await scrapedWhileWritten({
      dir: tmp,
      relay: RELAY,
      src: slice,
      lines: LINES,
      runArgs: ['--blocked-poll', BLOCKED_POLL],
      children,
    }));
  }, 6 * WAIT_MS); // five waits of up to WAIT_MS each

  afterAll(async () => {
    for (const c of children) await stopChild(c);
    rmSync(tmp, { recursive: true, force: true });
  }, 2 * WAIT_MS);

  it('Prometheus holds the counts and sums the daemon computed, and replay computes the same', async () => {
    const own = samples((await scrape(`${daemonUrl}/metrics`)).body);
    const mine = (name: string, labels: Record<string, string> = {}) => own.get(key(name, { relay: RELAY, ...labels }));
    const report = await replay([slice], {
      thresholds: { slowPollNs: 50e6, blockedPollNs: 300e6, starvedNs: 1e9, silentNs: 1e9 },
    });

    const wakeups = await byLabel(`relay_epoll_wakeups_total{relay="${RELAY}"}`, 'reason');
    expect(wakeups).toEqual(
      Object.fromEntries(
        ['io', 'notify', 'timeout', 'spurious', 'unknown'].map((r) => [
          r,
          mine('relay_epoll_wakeups_total', { reason: r }),
        ]),
      ),
    );
    expect(wakeups).toEqual(report.wakeups);
    expect(Object.values(wakeups).reduce((a, b) => a + b, 0)).toBeGreaterThan(5);

    for (const [metric, label] of [
      ['relay_epoll_wait_duration_seconds', 'reason'],
      ['relay_swarm_poll_duration_seconds', 'result'],
    ] as const) {
      const sums = await byLabel(`${metric}_sum{relay="${RELAY}"}`, label);
      const counts = await byLabel(`${metric}_count{relay="${RELAY}"}`, label);
      for (const v of Object.keys(sums)) {
        expect(sums[v]).toBeCloseTo(mine(`${metric}_sum`, { [label]: v })!, 9);
        expect(counts[v]).toBe(mine(`${metric}_count`, { [label]: v }));
      }
    }
    const pollCounts = await byLabel(`relay_swarm_poll_duration_seconds_count{relay="${RELAY}"}`, 'result');
    expect(pollCounts.ready + pollCounts.pending + pollCounts.unknown).toBe(report.pollCycles.count);
    const delaySum = await byLabel(`relay_wake_to_poll_delay_seconds_sum{relay="${RELAY}"}`, 'relay');
    expect(delaySum[RELAY]).toBeCloseTo(mine('relay_wake_to_poll_delay_seconds_sum')!, 9);
    // Bucket by bucket for the wait histogram: Prometheus' series = ours.
    const buckets = await query(`relay_epoll_wait_duration_seconds_bucket{relay="${RELAY}",reason="io"}`);
    expect(buckets).toHaveLength(28);
    for (const b of buckets)
      expect(Number(b.value[1])).toBe(
        mine('relay_epoll_wait_duration_seconds_bucket', { reason: 'io', le: b.metric.le }),
      );

    const stalls = await byLabel(`relay_poll_stalls_total{relay="${RELAY}"}`, 'kind');
    expect(stalls).toEqual(report.stalls.counts);
    expect(stalls.blocked_poll).toBe(1);
    const lines = await byLabel(`pollscope_lines_total{relay="${RELAY}"}`, 'outcome');
    expect(lines).toEqual({
      decoded: report.lines.decoded,
      ignored: report.lines.ignored,
      malformed: report.lines.malformed,
      oversize: report.lines.oversize,
    });
  });

  it('Prometheus saw the blocked poll while it lasted, and it is over now', async () => {
    const peak = await query(`max_over_time(relay_poll_stall_active_seconds{relay="${RELAY}"}[5m])`);
    expect(Number(peak[0].value[1])).toBeGreaterThan(0.3);
    expect(Number(peak[0].value[1])).toBeLessThan(1.6);
    const now = await query(`relay_poll_stall_active_seconds{relay="${RELAY}"}`);
    expect(Number(now[0].value[1])).toBe(0);
  });

  it('the daemon is ready, Prometheus scrapes it cleanly, and promtool finds no problem in our text', async () => {
    expect((await scrape(`${daemonUrl}/readyz`)).status).toBe(200);
    expect(Number((await query('up{job="pollscope"}'))[0].value[1])).toBe(1);
    expect(Number((await query('scrape_samples_scraped{job="pollscope"}'))[0].value[1])).toBeGreaterThan(300);
    // Prometheus asked for OpenMetrics (the format that carries exemplars) and got it: there a
    // counter's family is named without `_total`; parsed as Prometheus text it would keep it.
    const meta = (await (await fetch(`${prometheus.url}/api/v1/metadata?metric=relay_epoll_wakeups`)).json()) as {
      data: Record<string, Array<{ type: string }>>;
    };
    expect(meta.data.relay_epoll_wakeups?.[0]?.type).toBe('counter');
    const text = (await scrape(`${daemonUrl}/metrics`)).body;
    const check = await run('promtool', ['check', 'metrics'], text);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
  });
});
