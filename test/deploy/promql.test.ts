/* eslint-disable @typescript-eslint/no-explicit-any -- documents parsed from YAML/JSON (compose, Prometheus configs and API answers): their shape is what these tests check. */
/**
 * Every PromQL expression in the dashboard and the alert rules parses (Prometheus' own parser,
 * through promtool), and every metric it names is one pollscope really exports: the names are
 * read from pollscope's real output — `replay --metrics-out` on the bundled sample, and the live
 * daemon's /metrics for what only `run` exports (the active-stall gauge, log lag, the span
 * counters, process metrics) — never from a list written here.
 * Needs `npm run build` first (npm test does it): it runs dist/cli.js.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, WAIT_MS, freePort, hasExited, startPollscopeRun, stopChild, waitFor } from '../helpers.js';
import { stringify } from 'yaml';
import {
  type Expression,
  dashboardExpressions,
  readJson,
  repo,
  ruleExpressions,
  selectors,
  substituteGrafanaVariables,
  tool,
  DASHBOARD,
} from './support.js';

const SAMPLE = repo('samples/relay-stall.log');
const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-promql-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const expressions: Expression[] = [...dashboardExpressions(), ...ruleExpressions()];

describe('PromQL in the dashboard and the rules parses', () => {
  it('there are expressions to check (the dashboard has its panels, the rules their alerts)', () => {
    expect(dashboardExpressions().length).toBeGreaterThanOrEqual(25);
    expect(ruleExpressions().length).toBe(8);
  });

  it('promtool check rules accepts each expression as a recording rule', () => {
    const file = path.join(tmp, 'expressions.rules.yml');
    writeFileSync(
      file,
      stringify({
        groups: [
          {
            name: 'dashboard-and-alert-expressions',
            rules: expressions.map((e, i) => ({ record: `pollscope_check:expr_${i}`, expr: e.expr })),
          },
        ],
      }),
    );
    const r = tool('promtool', ['check', 'rules', file]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`SUCCESS: ${expressions.length} rules found`);
  });

  it('promtool check rules rejects a broken expression (the check above can fail)', () => {
    const file = path.join(tmp, 'broken.rules.yml');
    const broken = expressions[0].expr.replace(/\)\s*$/, '');
    writeFileSync(
      file,
      stringify({ groups: [{ name: 'broken', rules: [{ record: 'pollscope_check:broken', expr: broken }] }] }),
    );
    const r = tool('promtool', ['check', 'rules', file]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/parse error|unclosed|unexpected/);
  });

  it('the dashboard variables are all substituted the way Grafana does (no $ left)', () => {
    for (const e of expressions) expect(e.expr, e.where).not.toContain('$');
    expect(() => substituteGrafanaVariables('rate(x[$__unknown])')).toThrow(/unknown dashboard variable/);
  });
});

/** Metric name → the label names its series carry, from a /metrics or OpenMetrics text. */
interface Exported {
  samples: Map<string, Set<string>>;
  families: Map<string, string>;
}

function parseExposition(text: string, into: Exported): void {
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      into.families.set(type[1], type[2]);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    const labels = into.samples.get(name) ?? new Set<string>();
    const body = line.slice(name.length);
    if (body.startsWith('{')) {
      for (const m of body.slice(0, body.indexOf('}') + 1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(m[1]);
    }
    into.samples.set(name, labels);
  }
}

/** The series names a family of the given type puts into Prometheus. */
function seriesNames(family: string, type: string): string[] {
  switch (type) {
    case 'counter':
      return family.endsWith('_total') ? [family] : [`${family}_total`];
    case 'histogram':
      return [`${family}_bucket`, `${family}_sum`, `${family}_count`];
    case 'summary':
      return [family, `${family}_sum`, `${family}_count`];
    case 'info':
      return [`${family}_info`];
    default:
      return [family];
  }
}

/** The daemon's /metrics (OpenMetrics) once it is ready and has relay metrics; up to WAIT_MS. */
async function waitForMetrics(url: string, child: ChildProcess): Promise<string> {
  let last = '';
  return waitFor(
    `relay metrics at ${url}`,
    async () => {
      if (hasExited(child)) throw new Error(`pollscope run exited with ${child.exitCode}`);
      try {
        const ready = await fetch(url.replace('/metrics', '/readyz'));
        if (!ready.ok) return undefined;
        const res = await fetch(url, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
        last = await res.text();
        return res.ok && last.includes('relay_epoll_wakeups') ? last : undefined;
      } catch {
        return undefined; // not listening yet
      }
    },
    { intervalMs: 200, detail: () => (last ? `last scrape:\n${last.slice(0, 500)}` : '') },
  );
}

describe('every metric the dashboard and the rules name is one pollscope exports', () => {
  const exported: Exported = { samples: new Map(), families: new Map() };
  const problems: string[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    // 1. replay --metrics-out: the relay metrics with real values.
    const out = path.join(tmp, 'replay.om');
    const r = tool(process.execPath, [CLI, 'replay', SAMPLE, '--metrics-out', out]);
    if (r.status !== 0 || !existsSync(out))
      problems.push(`replay --metrics-out failed (${r.status}): ${r.stderr.trim()}`);
    else parseExposition(readFileSync(out, 'utf8'), exported);
    // 2. The live daemon's /metrics: what only `run` exports.
    const log = path.join(tmp, 'relay.log');
    copyFileSync(SAMPLE, log);
    const port = await freePort();
    const deadOtlp = await freePort(); // nothing listens there: exports fail, which is fine here
    const daemon = startPollscopeRun(
      {
        log,
        relay: 'relay-a',
        checkpoint: path.join(tmp, 'checkpoint.json'),
        args: ['--metrics-listen', `127.0.0.1:${port}`, '--otlp-endpoint', `http://127.0.0.1:${deadOtlp}`],
      },
      children,
    );
    try {
      parseExposition(await waitForMetrics(`http://127.0.0.1:${port}/metrics`, daemon.child), exported);
    } catch (err) {
      const stderr = daemon.stderr();
      problems.push(
        `pollscope run's /metrics: ${(err as Error).message}${stderr ? `\nstderr: ${stderr.trim().slice(0, 400)}` : ''}`,
      );
    }
  }, 3 * WAIT_MS); // a replay (spawnSync, up to a minute) and the daemon's endpoint (up to WAIT_MS)

  afterAll(async () => {
    for (const c of children) await stopChild(c);
  }, 2 * WAIT_MS);

  /** Series names pollscope puts into Prometheus, plus `up`, which Prometheus adds per target. */
  const known = (): Set<string> => {
    const names = new Set<string>(['up', ...exported.samples.keys()]);
    for (const [family, type] of exported.families) for (const n of seriesNames(family, type)) names.add(n);
    return names;
  };

  it('pollscope ran and its output was read (replay --metrics-out and run --metrics-listen)', () => {
    expect(problems, problems.join('\n')).toEqual([]);
    expect(exported.samples.has('relay_epoll_wait_duration_seconds_bucket')).toBe(true);
  });

  it('every metric name in a dashboard query or an alert rule is in that output', () => {
    const names = known();
    const missing: string[] = [];
    for (const e of expressions) {
      const sel = selectors(e.expr);
      expect(sel.length, `${e.where}: ${e.expr}`).toBeGreaterThan(0);
      for (const s of sel) if (!names.has(s.metric)) missing.push(`${s.metric} (${e.where})`);
    }
    // The relay variable's query names a metric and a label too.
    const variable = readJson(DASHBOARD).templating.list.find((v: any) => v.name === 'relay');
    const m = /^label_values\((\w+), *(\w+)\)$/.exec(variable.query.query);
    expect(m, variable.query.query).not.toBeNull();
    if (!names.has(m![1])) missing.push(`${m![1]} (dashboard variable relay)`);
    else if (exported.samples.has(m![1])) expect([...exported.samples.get(m![1])!]).toContain(m![2]);
    expect(missing, `not in pollscope's output: ${problems.join('; ')}`).toEqual([]);
  });

  it('every label a selector matches on is one that metric carries (or a target label Prometheus adds)', () => {
    const wrong: string[] = [];
    for (const e of expressions) {
      for (const s of selectors(e.expr)) {
        const labels = exported.samples.get(s.metric);
        // No series to compare with, or only prom-client's label-less zero of a metric nothing
        // was counted in yet (replay has no file rotations, say).
        if (!labels || labels.size === 0 || s.metric === 'up') continue;
        for (const l of s.labels)
          if (l !== 'job' && l !== 'instance' && !labels.has(l)) wrong.push(`${s.metric}{${l}} (${e.where})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the lexer finds metric names and their matchers, and skips functions, label lists, strings and durations', () => {
    expect(
      selectors('histogram_quantile(0.99, sum by (relay, le) (rate(a_bucket{relay=~".*", kind="x"}[5m])))'),
    ).toEqual([{ metric: 'a_bucket', labels: ['relay', 'kind'] }]);
    expect(selectors('changes(b[10m]) == 0 and on (job, instance) up{job="pollscope"} == 1')).toEqual([
      { metric: 'b', labels: [] },
      { metric: 'up', labels: ['job'] },
    ]);
    expect(selectors('time() - max by (relay) (c)')).toEqual([{ metric: 'c', labels: [] }]);
  });
});
