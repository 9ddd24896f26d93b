/**
 * A real Prometheus (Debian's 2.42) scrapes a real `pollscope run --web-config-file` over TLS with
 * basic auth, on loopback, with certificates made here by openssl: the job with the right password
 * is up and stores pollscope's series; a job with a wrong password is down with a 401; `promtool
 * check config` accepts the scrape config and `promtool check web-config` the daemon's web config.
 * Needs `npm run build` first (npm test does it).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  WAIT_MS,
  metricsBaseUrl,
  promQuery,
  startPollscopeRun,
  startPrometheus,
  stopChild,
  waitForAnswer,
} from '../helpers.js';
import { makeCerts } from '../fleet/support.js';
import { run } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-webprom-'));
const children: ChildProcess[] = [];
const f = (name: string) => path.join(tmp, name);

describe('a real Prometheus scraping pollscope over TLS with basic auth', () => {
  let promUrl = '';
  let target = '';

  beforeAll(async () => {
    const certs = makeCerts(tmp);
    writeFileSync(
      f('web.yml'),
      [
        'tls_server_config:',
        `  cert_file: ${certs.serverCert}`,
        `  key_file: ${certs.serverKey}`,
        '  min_version: TLS12',
        'basic_auth_users:',
        `  prometheus: ${bcrypt.hashSync('scrape-secret', 10)}`,
        '',
      ].join('\n'),
    );
    writeFileSync(f('password'), 'scrape-secret\n');
    writeFileSync(f('wrong-password'), 'not-the-secret\n');
    const daemon = startPollscopeRun(
      {
        log: path.join(ROOT, 'samples/relay-stall.log'),
        relay: 'relay-tls',
        checkpoint: f('checkpoint.json'),
        args: ['--no-watch', '--metrics-listen', '127.0.0.1:0', '--web-config-file', f('web.yml')],
        cwd: tmp,
      },
      children,
    );
    const url = await metricsBaseUrl(daemon);
    expect(url).toMatch(/^https:/); // the TLS endpoint
    target = new URL(url).host;
    const job = (name: string, passwordFile: string) => [
      `  - job_name: ${name}`,
      '    scheme: https',
      '    tls_config:',
      `      ca_file: ${certs.ca}`,
      '    basic_auth:',
      '      username: prometheus',
      `      password_file: ${passwordFile}`,
      '    static_configs:',
      `      - targets: ['${target}']`,
    ];
    const prometheus = await startPrometheus({
      dir: tmp,
      children,
      config: [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        ...job('pollscope-tls', f('password')),
        ...job('pollscope-wrong-password', f('wrong-password')),
        '',
      ].join('\n'),
    });
    promUrl = prometheus.url;
    await waitForAnswer('Prometheus to scrape both jobs', async () => (await promQuery(promUrl, 'up')).length === 2);
  }, 4 * WAIT_MS); // the daemon's endpoint, Prometheus ready, both jobs scraped

  afterAll(async () => {
    for (const c of children) await stopChild(c);
    rmSync(tmp, { recursive: true, force: true });
  }, 2 * WAIT_MS);

  it(
    'scrapes with the right password and stores pollscope series; the wrong password gets 401',
    async () => {
      const up = Object.fromEntries((await promQuery(promUrl, 'up')).map((s) => [s.metric.job, Number(s.value[1])]));
      expect(up).toEqual({ 'pollscope-tls': 1, 'pollscope-wrong-password': 0 });
      const lines = await waitForAnswer('the relay line count in Prometheus', async () => {
        const r = await promQuery(promUrl, 'sum(pollscope_lines_total{job="pollscope-tls",relay="relay-tls"})');
        return r.length === 1 && Number(r[0].value[1]) > 0 ? Number(r[0].value[1]) : undefined;
      });
      expect(lines).toBeGreaterThan(1000);
      // Nothing from the wrong-password job reached storage, and its target says why.
      expect(await promQuery(promUrl, 'pollscope_lines_total{job="pollscope-wrong-password"}')).toEqual([]);
      const res = await fetch(`${promUrl}/api/v1/targets`);
      const targets = (await res.json()) as {
        data: { activeTargets: { labels: { job: string }; lastError: string; health: string }[] };
      };
      const wrong = targets.data.activeTargets.find((t) => t.labels.job === 'pollscope-wrong-password');
      expect(wrong?.health).toBe('down');
      expect(wrong?.lastError).toMatch(/401/);
    },
    2 * WAIT_MS,
  ); // the line count's wait (up to WAIT_MS)

  it('promtool accepts the scrape config and the web config', async () => {
    const cfg = await run('promtool', ['check', 'config', f('prometheus.yml')]);
    expect(cfg.stderr + cfg.stdout).toMatch(/SUCCESS/);
    expect(cfg.code).toBe(0);
    const web = await run('promtool', ['check', 'web-config', f('web.yml')]);
    expect(web.stdout + web.stderr).toMatch(/SUCCESS/);
    expect(web.code).toBe(0);
  });
});
