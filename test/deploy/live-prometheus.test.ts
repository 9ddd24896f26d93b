/* eslint-disable @typescript-eslint/no-explicit-any -- documents parsed from YAML/JSON (compose, Prometheus configs and API answers): their shape is what these tests check. */
/**
 * The host Prometheus config with the alert rules, run for real: Debian's Prometheus (loopback,
 * temporary storage, 1 s intervals) scrapes a real `pollscope run` that has read the bundled
 * sample, evaluates every alert rule without an error, and answers every dashboard query.
 * Needs `npm run build` first (it runs dist/cli.js).
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  WAIT_MS,
  freePort,
  hasExited,
  startPollscopeRun,
  startPrometheus,
  stopChild,
  waitFor,
} from '../helpers.js';
import { dashboardExpressions, readYaml, repo } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-liveprom-'));
const children: ChildProcess[] = [];

const STALLS_BY_KIND = 'sum by (kind) (relay_poll_stalls_total{relay="relay-a"})';

afterAll(async () => {
  for (const c of children) await stopChild(c);
  rmSync(tmp, { recursive: true, force: true });
}, 2 * WAIT_MS);

describe('Prometheus with prometheus-host.yml and the rules, scraping a real pollscope run', () => {
  let prom = '';
  let pollscopeLog = () => '';
  let prometheusLog = () => '';

  const api = async (p: string): Promise<any> => {
    const res = await fetch(`${prom}${p}`);
    return res.json();
  };

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const log = path.join(tmp, 'relay.log');
    copyFileSync(repo('samples/relay-stall.log'), log);
    const metricsPort = await freePort();
    const pollscope = startPollscopeRun(
      {
        log,
        relay: 'relay-a',
        checkpoint: path.join(tmp, 'checkpoint.json'),
        args: ['--metrics-listen', `127.0.0.1:${metricsPort}`],
      },
      children,
    );
    pollscopeLog = pollscope.output;

    // The host config as shipped, with the test's port, the repository's rules and 1 s intervals.
    const config = readYaml('deploy/prometheus/prometheus-host.yml');
    config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    config.rule_files = [repo('deploy/prometheus/rules/*.yml')];
    const job = config.scrape_configs.find((j: any) => j.job_name === 'pollscope');
    expect(job.static_configs[0].targets).toEqual(['127.0.0.1:9464']);
    job.static_configs[0].targets = [`127.0.0.1:${metricsPort}`];
    job.scrape_interval = '1s';
    config.scrape_configs = [job];
    delete config.alerting; // no Alertmanager here
    const prometheus = await startPrometheus({ dir: tmp, children, exemplars: true, config });
    prom = prometheus.url;
    prometheusLog = prometheus.output;

    // Wait until Prometheus holds the whole sample's stalls (4 in all: pollscope read it all and was
    // scraped since), and every rule has been evaluated at least once.
    const alive = () => {
      if (hasExited(pollscope.child))
        throw new Error(`pollscope run exited ${pollscope.child.exitCode}: ${pollscopeLog()}`);
      if (hasExited(prometheus.child))
        throw new Error(`prometheus exited ${prometheus.child.exitCode}: ${prometheusLog().slice(-800)}`);
    };
    const detail = () => `pollscope: ${pollscopeLog().slice(-600)}\nprometheus: ${prometheusLog().slice(-600)}`;
    const apiOrNothing = async (p: string): Promise<any> => {
      alive();
      try {
        return await api(p);
      } catch {
        return undefined; // not up yet
      }
    };
    await waitFor(
      "the sample's four stalls in Prometheus, and 3 scrapes with relay metrics (rates need two)",
      async () => {
        const stalls = await apiOrNothing(`/api/v1/query?query=${encodeURIComponent(STALLS_BY_KIND)}`);
        const scrapes = await apiOrNothing(
          '/api/v1/query?query=' + encodeURIComponent('count_over_time(relay_epoll_wakeups_total[1m])'),
        );
        return (
          stalls?.status === 'success' &&
          stalls.data.result.reduce((n: number, x: any) => n + Number(x.value[1]), 0) >= 4 &&
          scrapes?.status === 'success' &&
          scrapes.data.result.some((x: any) => Number(x.value[1]) >= 3)
        );
      },
      { intervalMs: 250, detail },
    );
    await waitFor(
      'every rule to be evaluated',
      async () => {
        const r = await apiOrNothing('/api/v1/rules');
        const rules = r?.status === 'success' ? r.data.groups.flatMap((g: any) => g.rules) : [];
        return rules.length > 0 && rules.every((x: any) => x.lastEvaluation && !/^0001-/.test(x.lastEvaluation));
      },
      { intervalMs: 250, detail },
    );
  }, 4 * WAIT_MS); // Prometheus ready, then two waits, each up to WAIT_MS

  it('the scrape target is up', async () => {
    const r = await api('/api/v1/targets');
    const targets = r.data.activeTargets.filter((t: any) => t.labels.job === 'pollscope');
    expect(targets).toHaveLength(1);
    expect(targets[0].health, targets[0].lastError).toBe('up');
  });

  it('every alert rule is loaded and evaluates without an error', async () => {
    const r = await api('/api/v1/rules');
    const rules = r.data.groups.flatMap((g: any) => g.rules);
    expect(rules.map((x: any) => x.name).sort()).toEqual([
      'PollscopeDown',
      'PollscopeExportErrors',
      'PollscopeSpansDropped',
      'RelayLogNotAdvancing',
      'RelayPollStallActive',
      'RelayRepeatedStalls',
      'RelaySwarmPollSlow',
      'RelayWakeToPollDelayHigh',
    ]);
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
      expect(rule.lastEvaluation, rule.name).not.toMatch(/^0001-/);
    }
  });

  it('every dashboard query runs on the live data, and the relay panels have series', async () => {
    const relayPanels = [
      'Wakeups per second by reason',
      'Ready events by flag',
      'Swarm polls per second by result',
      'Epoll wait latency',
      'Swarm poll duration',
      'Lines per second by outcome',
      'Stalls by kind',
    ];
    for (const e of dashboardExpressions()) {
      const r = await api(`/api/v1/query?query=${encodeURIComponent(e.expr)}`);
      expect(r.status, `${e.where}: ${r.error ?? ''}`).toBe('success');
      if (relayPanels.some((t) => e.where.includes(`"${t}"`))) {
        expect(r.data.result.length, `${e.where}: ${e.expr}`).toBeGreaterThan(0);
      }
    }
    // The sample has one stall of each kind; Prometheus sees them through the counter.
    const stalls = await api(`/api/v1/query?query=${encodeURIComponent(STALLS_BY_KIND)}`);
    const byKind = Object.fromEntries(stalls.data.result.map((s: any) => [s.metric.kind, Number(s.value[1])]));
    expect(byKind).toMatchObject({ slow_poll: 1, blocked_poll: 1, starved: 1, silent: 1 });
  });
});
