/* eslint-disable @typescript-eslint/no-explicit-any -- documents parsed from YAML/JSON (compose, Prometheus configs and API answers): their shape is what these tests check. */
/**
 * The Prometheus and Alertmanager files, checked by the real tools: promtool (Debian's
 * `prometheus` package) and amtool (`prometheus-alertmanager`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { RULE_FILES, readYaml, repo, tool } from './support.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-prom-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const RULE_TESTS = 'deploy/prometheus/tests/pollscope.rules.test.yml';

describe('promtool', () => {
  it.each(['deploy/prometheus/prometheus.yml', 'deploy/prometheus/prometheus-host.yml'])(
    'check config %s (with the rules it loads)',
    (file) => {
      // The configs name the rules where they are installed (/etc/prometheus/rules/*.yml); point a
      // copy at the repository's rules so promtool checks them through the config too.
      const config = readYaml(file);
      expect(config.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
      config.rule_files = [repo('deploy/prometheus/rules/*.yml')];
      const copy = path.join(tmp, path.basename(file));
      writeFileSync(copy, stringify(config));
      const r = tool('promtool', ['check', 'config', copy]);
      expect(r.output).toMatch(/SUCCESS: .* is valid prometheus config file syntax/);
      expect(r.output).toMatch(/SUCCESS: 8 rules found/);
      expect(r.status, r.output).toBe(0);
    },
  );

  it('check rules', () => {
    const r = tool('promtool', ['check', 'rules', ...RULE_FILES.map((f) => repo(f))]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS: 8 rules found');
  });

  it('every alert has a summary and a description, a severity, and a unit test that fires it and one that does not', () => {
    const rules = readYaml(RULE_FILES[0]).groups.flatMap((g: any) => g.rules);
    const tests = readYaml(RULE_TESTS).tests.flatMap((t: any) => t.alert_rule_test);
    for (const rule of rules) {
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description?.length, rule.alert).toBeGreaterThan(80);
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      const cases = tests.filter((c: any) => c.alertname === rule.alert);
      expect(
        cases.some((c: any) => c.exp_alerts.length > 0),
        `${rule.alert} fires in a test`,
      ).toBe(true);
      expect(
        cases.some((c: any) => c.exp_alerts.length === 0),
        `${rule.alert} stays quiet in a test`,
      ).toBe(true);
    }
  });

  it('test rules: every case passes', () => {
    const r = tool('promtool', ['test', 'rules', repo(RULE_TESTS)]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  it('test rules fails when a threshold no longer matches its cases (the cases do test the thresholds)', () => {
    // Raise the active-stall threshold from 10 s to 60 s: the 12 s stall must no longer fire.
    const rules = readFileSync(repo(RULE_FILES[0]), 'utf8');
    const changed = rules.replace('(relay_poll_stall_active_seconds) > 10', '(relay_poll_stall_active_seconds) > 60');
    expect(changed).not.toBe(rules);
    const dir = mkdtempSync(path.join(tmp, 'mut-'));
    writeFileSync(path.join(dir, 'rules.yml'), changed);
    const tests = parseYaml(readFileSync(repo(RULE_TESTS), 'utf8'));
    tests.rule_files = ['rules.yml'];
    writeFileSync(path.join(dir, 'tests.yml'), stringify(tests));
    const r = tool('promtool', ['test', 'rules', path.join(dir, 'tests.yml')]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('alertname: RelayPollStallActive, time: 4m');
  });
});

describe('amtool', () => {
  it('check-config on the shipped Alertmanager config', () => {
    const r = tool('amtool', ['check-config', repo('deploy/alertmanager/alertmanager.yml')]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  it('check-config with the commented webhook example switched on', () => {
    // What a user gets by uncommenting the example: it must be a valid config too.
    const text = readFileSync(repo('deploy/alertmanager/alertmanager.yml'), 'utf8');
    const enabled = text.replace(
      /^(\s*)# (- (?:matchers|name): .*| {2}receiver: relay-oncall| {2}webhook_configs:| {4}- url: .*| {6}send_resolved: true)$/gm,
      '$1$2',
    );
    const config = parseYaml(enabled);
    expect(config.receivers.map((r: any) => r.name)).toEqual(['ui-only', 'relay-oncall']);
    expect(config.receivers[1].webhook_configs[0].url).toMatch(/^https:\/\//);
    expect(config.route.routes).toEqual([{ matchers: ['severity="critical"'], receiver: 'relay-oncall' }]);
    const file = path.join(tmp, 'alertmanager-webhook.yml');
    writeFileSync(file, enabled);
    const r = tool('amtool', ['check-config', file]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('2 receivers');
  });
});
