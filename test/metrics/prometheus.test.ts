/**
 * A real Prometheus scrapes the real daemon: `pollscope run` follows a file into which the bundled
 * sample log is appended at the pace of its own timestamps; Prometheus (Debian's package, started
 * here on loopback with a temporary config and storage) scrapes it every second. Afterwards its
 * HTTP API must hold the wakeup counts, histogram sums and counts, stall counts and line counts the
 * daemon computed — and that a `replay` of the same lines computes — and it must have seen the
 * blocked poll live on relay_poll_stall_active_seconds. promtool checks what we serve.
 * Needs `npm run build` first (npm test does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/replay.js';
import { ROOT, WAIT_MS, freePort, stopChild, waitFor } from '../helpers.js';
import { key, run, samples, scrape } from './support.js';

const RELAY = 'relay-t';
/** samples/relay-stall.log up to 22:30:04.44 (3.4 s of log): a 1.5 s blocked poll at 22:30:02.38. */
const LINES = 520;
const BLOCKED_POLL = '300ms'; // the stall is active for 1.2 s: more than one scrape interval

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-prometheus-'));
const followed = path.join(tmp, 'relay.log');
const slice = path.join(tmp, 'slice.log');
const children: ChildProcess[] = [];

function start(cmd: string, args: string[]): { child: ChildProcess; stderr: () => string; stdout: () => string } {
  const child = spawn(cmd, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, stderr: () => err, stdout: () => out };
}

/** Waits (up to WAIT_MS) until `f` gives a value; an error (a server not up yet) counts as not yet. */
function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined): Promise<T> {
  return waitFor(
    what,
    async () => {
      try {
        return await f();
      } catch {
        return undefined; // not up yet
      }
    },
    { intervalMs: 200 },
  );
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
let promUrl = '';
async function query(q: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(body)}`);
  return body.data.result;
}
/** One value per `label` value, from an instant query. */
async function byLabel(q: string, label: string): Promise<Record<string, number>> {
  return Object.fromEntries((await query(q)).map((s) => [s.metric[label] ?? '', Number(s.value[1])]));
}

describe('a real Prometheus scraping `pollscope run`', () => {
  let daemonUrl = '';
  let daemon: ReturnType<typeof start>;

  beforeAll(async () => {
    writeFileSync(
      slice,
      readFileSync(path.join(ROOT, 'samples/relay-stall.log'), 'utf8').split('\n').slice(0, LINES).join('\n') + '\n',
    );
    writeFileSync(followed, '');
    daemon = start(process.execPath, [
      path.join(ROOT, 'dist/cli.js'),
      'run',
      '--log',
      followed,
      '--relay',
      RELAY,
      '--from',
      'start',
      '--checkpoint',
      path.join(tmp, 'checkpoint.json'),
      '--blocked-poll',
      BLOCKED_POLL,
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    daemonUrl = await until(
      "the daemon's metrics endpoint",
      () => /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(daemon.stderr())?.[1],
    );

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(
      path.join(tmp, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: pollscope',
        '    static_configs:',
        `      - targets: ['${new URL(daemonUrl).host}']`,
        '',
      ].join('\n'),
    );
    start('prometheus', [
      `--config.file=${path.join(tmp, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
    ]);
    await until('Prometheus scraping the daemon', async () => {
      const up = await query('up{job="pollscope"}');
      return up.length === 1 && up[0].value[1] === '1' ? true : undefined;
    });

    // The relay "writes" its log now, at the pace of its timestamps.
    const writer = start(process.execPath, [
      path.join(ROOT, 'test/metrics/pace-writer.mjs'),
      JSON.stringify({ src: slice, dst: followed, lines: LINES, speed: 1 }),
    ]);
    await until('the writer', () => (writer.stdout().includes(`done ${LINES}`) ? true : undefined));
    // Every line read by the daemon, and a scrape of that state stored by Prometheus.
    await until('the daemon to read every line', async () => {
      const s = samples((await scrape(`${daemonUrl}/metrics`)).body);
      const n = ['decoded', 'ignored', 'malformed', 'oversize'].reduce(
        (a, o) => a + (s.get(key('pollscope_lines_total', { relay: RELAY, outcome: o })) ?? 0),
        0,
      );
      return n === LINES ? true : undefined;
    });
    await until('Prometheus to scrape the final state', async () => {
      const r = await query(`sum(pollscope_lines_total{relay="${RELAY}"})`);
      return r.length === 1 && Number(r[0].value[1]) === LINES ? true : undefined;
    });
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
    const meta = (await (await fetch(`${promUrl}/api/v1/metadata?metric=relay_epoll_wakeups`)).json()) as {
      data: Record<string, Array<{ type: string }>>;
    };
    expect(meta.data.relay_epoll_wakeups?.[0]?.type).toBe('counter');
    const text = (await scrape(`${daemonUrl}/metrics`)).body;
    const check = await run('promtool', ['check', 'metrics'], text);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
  });
});
