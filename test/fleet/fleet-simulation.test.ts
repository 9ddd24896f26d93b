/* eslint-disable @typescript-eslint/no-explicit-any -- Prometheus API answers and the parsed fleet config: their shape is what this test checks. */
/**
 * The fleet, simulated on loopback: 20 relays (the bundled sample written as the demo writer does,
 * one relay pausing inside a swarm poll until the test has seen the alert) followed by 5 real
 * `pollscope run` daemons of 4 relays each, every daemon serving /metrics over TLS with basic auth; one real Prometheus (Debian
 * 2.42) with deploy/fleet/prometheus/prometheus.yml (only paths, intervals and the Alertmanager
 * changed) finds the daemons through file_sd and scrapes them, with the 8 alert rules. Checked:
 * every target up, all 20 relays in storage, all 8 rules healthy and the relay rules evaluating one
 * series per relay, every query of both dashboards succeeding with all relays selected (Grafana's
 * All and the 20 names as a multi-value), and the stall firing RelayPollStallActive for that relay
 * and nothing for any other. Figures (series, scrape durations, CPU) are printed for the notes.
 *
 * Stall thresholds are 5 s on every daemon so that the sample's own short stalls (1.2–2.4 s) are
 * not stalls here: only the induced one is.
 * Needs `npm run build` first (npm test does it).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import {
  CLI,
  ROOT,
  metricsBaseUrl,
  promQuery,
  startChild,
  startPrometheus,
  stopChild,
  waitForAnswer,
  waitForOutput,
  type StartedChild,
} from '../helpers.js';
import { RULE_FILES, dashboardPanels, readJson, readYaml, substituteGrafanaVariables } from '../deploy/support.js';
import { makeCerts } from './support.js';

/** Deadline of each wait on the fleet (daemons, Prometheus, the alert): reached only when something is wrong. */
const WAIT_MS = 90_000;
const RELAYS = 20;
const DAEMONS = 5;
const STALLED = 'relay-07';
const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-fleet-'));
const f = (name: string) => path.join(tmp, name);
const children: ChildProcess[] = [];
const relayNames = Array.from({ length: RELAYS }, (_, i) => `relay-${String(i + 1).padStart(2, '0')}`);

let promUrl = '';
const daemons: StartedChild[] = [];
let writer: StartedChild;
const api = async (p: string): Promise<any> => (await fetch(`${promUrl}${p}`)).json();
const values = async (q: string): Promise<Record<string, number>> =>
  Object.fromEntries((await promQuery(promUrl, q)).map((s) => [JSON.stringify(s.metric), Number(s.value[1])]));

describe('fleet simulation: one Prometheus, 20 relays over TLS + basic auth, the 8 rules, both dashboards', () => {
  beforeAll(async () => {
    const certs = makeCerts(tmp);
    writeFileSync(
      f('web.yml'),
      `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n` +
        `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('fleet-scrape', 10)}\n`,
    );
    writeFileSync(f('scrape-password'), 'fleet-scrape\n');

    writer = startChild(
      process.execPath,
      [
        path.join(ROOT, 'test/fleet/fleet-writer.mjs'),
        JSON.stringify({
          sample: path.join(ROOT, 'samples/relay-stall.log'),
          outs: relayNames.map((r) => f(`${r}.log`)),
          // Silent until the test has seen the alert (SIGUSR2): a fixed pause of 16 s left the alert
          // (stall > 10 s) a 6 s window, which a loaded machine could miss.
          stall: { out: f(`${STALLED}.log`), afterMs: 6000, resumeOn: 'SIGUSR2' },
        }),
      ],
      children,
      { cwd: tmp },
    );
    const targets: string[] = [];
    for (let d = 0; d < DAEMONS; d++) {
      const mine = relayNames.slice(d * (RELAYS / DAEMONS), (d + 1) * (RELAYS / DAEMONS));
      const daemon = startChild(
        process.execPath,
        [
          CLI,
          'run',
          ...mine.flatMap((r) => ['--log', `${f(`${r}.log`)}=${r}`]),
          '--from',
          'start',
          '--checkpoint',
          f(`checkpoint-${d}.json`),
          '--blocked-poll',
          '5s',
          '--starved',
          '5s',
          '--silent',
          '5s',
          '--metrics-listen',
          '127.0.0.1:0',
          '--web-config-file',
          f('web.yml'),
        ],
        children,
        { cwd: tmp },
      );
      daemons.push(daemon);
      const url = await metricsBaseUrl(daemon, WAIT_MS);
      expect(url).toMatch(/^https:/);
      targets.push(new URL(url).host);
    }
    writeFileSync(f('relays.yml'), stringifyYaml([{ targets, labels: { site: 'loopback' } }]));

    // deploy/fleet/prometheus/prometheus.yml as shipped, with this test's files and faster intervals.
    const config = readYaml('deploy/fleet/prometheus/prometheus.yml');
    config.global = { scrape_interval: '2s', evaluation_interval: '2s' };
    config.rule_files = RULE_FILES.map((r) => path.join(ROOT, r));
    delete config.alerting;
    const job = config.scrape_configs.find((j: any) => j.job_name === 'pollscope');
    job.scrape_interval = '2s';
    job.scrape_timeout = '2s';
    job.tls_config.ca_file = certs.ca;
    job.basic_auth.password_file = f('scrape-password');
    job.file_sd_configs[0].files = [f('relays.yml')];
    job.file_sd_configs[0].refresh_interval = '5s';
    const prometheus = await startPrometheus({
      dir: tmp,
      children,
      config: (self) => {
        config.scrape_configs.find((j: any) => j.job_name === 'prometheus').static_configs[0].targets = [self];
        return config;
      },
    });
    promUrl = prometheus.url;
    await waitForAnswer(
      'every relay in Prometheus',
      async () => {
        const r = await promQuery(promUrl, 'count(count by (relay) (relay_log_last_line_timestamp_seconds))');
        return r.length === 1 && Number(r[0].value[1]) === RELAYS;
      },
      { timeoutMs: WAIT_MS },
    );
  }, 3 * WAIT_MS);

  afterAll(async () => {
    for (const c of children) await stopChild(c);
    rmSync(tmp, { recursive: true, force: true });
  }, WAIT_MS); // each child gets 10 s after SIGTERM before SIGKILL

  it('Prometheus finds the 5 daemons through file_sd and scrapes every one over TLS with basic auth', async () => {
    const up = await promQuery(promUrl, 'up{job="pollscope"}');
    expect(up.length).toBe(DAEMONS);
    for (const s of up) {
      expect(s.value[1]).toBe('1');
      expect(s.metric.site).toBe('loopback'); // the file's own labels reach the series
    }
    const targets = (await api('/api/v1/targets')).data.activeTargets.filter((t: any) => t.labels.job === 'pollscope');
    for (const t of targets) expect(t.scrapeUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
  });

  it(
    'a stall in one relay fires RelayPollStallActive for that relay only; all 8 rules healthy, per relay',
    async () => {
      await waitForAnswer(
        'RelayPollStallActive firing',
        async () => (await promQuery(promUrl, 'ALERTS{alertstate="firing"}')).length > 0,
        { timeoutMs: WAIT_MS },
      );
      const firing = await promQuery(promUrl, 'ALERTS{alertstate="firing"}');
      expect(firing.map((s) => [s.metric.alertname, s.metric.relay])).toEqual([['RelayPollStallActive', STALLED]]);
      expect(writer.stdout()).toContain(`stalled ${f(`${STALLED}.log`)}`);
      // The other 19 relays have no stall going on and none counted.
      const active = await values('max by (relay) (relay_poll_stall_active_seconds)');
      expect(Object.keys(active).length).toBe(RELAYS);
      for (const [labels, v] of Object.entries(active)) {
        if (JSON.parse(labels).relay === STALLED) expect(v).toBeGreaterThan(10);
        else expect(v).toBe(0);
      }

      const rules = (await api('/api/v1/rules')).data.groups.flatMap((g: any) => g.rules);
      expect(rules.length).toBe(8);
      for (const rule of rules) {
        expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');
        expect(Date.parse(rule.lastEvaluation)).toBeGreaterThan(Date.now() - 30_000);
      }
      // Seen: the relay goes on (its lines after the pause are stamped after it).
      process.kill(writer.child.pid!, 'SIGUSR2');
      await waitForOutput(
        writer.child,
        writer.stdout,
        (t) => t.includes(`resumed ${f(`${STALLED}.log`)}`),
        'the stalled relay to resume',
        WAIT_MS,
      );
      // Each rule's expression with its thresholds turned into `bool` comparisons: the series it
      // evaluates, firing or not. The relay rules give one per relay, the pollscope rules one per
      // daemon (the span rules none: these daemons export no traces).
      const perRelay: Record<string, number> = {};
      for (const rule of rules) {
        const all = String(rule.query).replace(/(>=|<=|==|!=|>|<)\s*(?!bool\b)(-?[\d.]+)/g, '$1 bool $2');
        const series = await promQuery(promUrl, all);
        perRelay[rule.name] = new Set(series.map((s) => s.metric.relay ?? s.metric.instance)).size;
      }
      expect(perRelay).toEqual({
        RelayPollStallActive: RELAYS,
        RelayRepeatedStalls: RELAYS,
        RelaySwarmPollSlow: RELAYS,
        RelayWakeToPollDelayHigh: RELAYS,
        RelayLogNotAdvancing: RELAYS,
        PollscopeDown: DAEMONS,
        PollscopeSpansDropped: 0,
        PollscopeExportErrors: 0,
      });
    },
    3 * WAIT_MS,
  );

  it('every query of both dashboards succeeds with all relays selected (All, and the 20 names)', async () => {
    const multi = `(${relayNames.join('|')})`;
    let queries = 0;
    for (const file of ['grafana/dashboards/pollscope.json', 'grafana/dashboards/pollscope-fleet.json']) {
      const dash = readJson(file);
      expect(dash.templating.list[0]).toMatchObject({ name: 'relay', multi: true, includeAll: true });
      for (const panel of dashboardPanels(dash)) {
        for (const t of panel.targets ?? []) {
          if (typeof t.expr !== 'string') continue;
          for (const selection of ['.*', multi]) {
            const expr = substituteGrafanaVariables(t.expr.replaceAll('$relay', selection));
            await expect(
              promQuery(promUrl, expr),
              `${file} "${panel.title}" with relay=~${selection}`,
            ).resolves.toBeDefined();
            queries++;
          }
        }
      }
    }
    expect(queries).toBeGreaterThan(80);
    // Sorted worst first, the stalled relay leads (over the last minute: the stall may be over by now).
    const worst = await promQuery(
      promUrl,
      `sort_desc(max by (relay) (max_over_time(relay_poll_stall_active_seconds{relay=~"${multi}"}[1m])))`,
    );
    expect(worst[0].metric.relay).toBe(STALLED);
  });

  it('figures: series, scrape durations and sizes, daemon CPU', async () => {
    const [head] = await promQuery(promUrl, 'prometheus_tsdb_head_series');
    const perRelay = await promQuery(promUrl, 'count by (relay) ({job="pollscope", relay!=""})');
    const scrape = await values('scrape_duration_seconds{job="pollscope"}');
    const samples = await values('scrape_samples_scraped{job="pollscope"}');
    const cpu = await values('rate(process_cpu_seconds_total{job="pollscope"}[20s])');
    const rss = await values('process_resident_memory_bytes{job="pollscope"}');
    const lines = await values('sum by (instance) (rate(pollscope_lines_total[20s]))');
    const promCpu = await values('rate(process_cpu_seconds_total{job="prometheus"}[20s])');
    const range = (o: Record<string, number>, k = 1) => {
      const v = Object.values(o).map((x) => x * k);
      return `${Math.min(...v).toFixed(3)}–${Math.max(...v).toFixed(3)}`;
    };
    const seriesPerRelay = perRelay.map((s) => Number(s.value[1]));
    console.log(
      [
        `fleet simulation figures (${RELAYS} relays, ${DAEMONS} daemons x ${RELAYS / DAEMONS} relays, 2 s scrapes):`,
        `  Prometheus head series: ${head.value[1]}`,
        `  series per relay (relay-labelled): ${Math.min(...seriesPerRelay)}–${Math.max(...seriesPerRelay)}`,
        `  samples per scrape (per daemon): ${range(samples)}`,
        `  scrape duration per daemon (TLS + basic auth): ${range(scrape, 1000)} ms`,
        `  daemon CPU: ${range(cpu, 100)} % of a core; RSS ${range(rss, 1 / 2 ** 20)} MiB`,
        `  lines/s per daemon: ${range(lines)}`,
        `  Prometheus CPU: ${range(promCpu, 100)} % of a core`,
      ].join('\n'),
    );
    expect(Math.max(...Object.values(scrape))).toBeLessThan(1);
    expect(Number(head.value[1])).toBeGreaterThan(RELAYS * 100);
  });
});
