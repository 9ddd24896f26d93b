/* eslint-disable @typescript-eslint/no-explicit-any -- documents parsed from YAML/JSON (compose, Prometheus configs and API answers): their shape is what these tests check. */
/**
 * Shared by the deployment tests: running the real tools (promtool, amtool, docker-compose,
 * systemd-analyze, logrotate), reading the stack's files, and listing every PromQL expression
 * the dashboard and the alert rules contain.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../helpers.js';

export { ROOT };
export const repo = (...rel: string[]): string => path.join(ROOT, ...rel);
export const readYaml = (rel: string): any => parseYaml(readFileSync(repo(rel), 'utf8'));
export const readJson = (rel: string): any => JSON.parse(readFileSync(repo(rel), 'utf8'));

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

/** Debian package that brings each tool; `.ci/run` installs them (APT_PACKAGES). */
const PACKAGE_OF: Record<string, string> = {
  promtool: 'prometheus',
  amtool: 'prometheus-alertmanager',
  'docker-compose': 'docker-compose',
  'systemd-analyze': 'systemd',
  logrotate: 'logrotate',
};

/** Runs a tool to completion; a missing tool is an error that names its Debian package. */
export function tool(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): ToolResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) {
    const pkg = PACKAGE_OF[cmd];
    throw new Error(`${cmd}: ${r.error.message}${pkg ? ` (Debian package ${pkg}; .ci/run installs it)` : ''}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}

export function hasTool(cmd: string): boolean {
  return !spawnSync(cmd, ['--version'], { encoding: 'utf8' }).error;
}

export interface Expression {
  where: string;
  expr: string;
}

/** What Grafana puts in place of the dashboard's variables before Prometheus sees a query. */
const GRAFANA_VARIABLES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __range: '1h',
  relay: '.*',
};

export function substituteGrafanaVariables(expr: string): string {
  const out = expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    const value = GRAFANA_VARIABLES[name];
    if (value === undefined) throw new Error(`unknown dashboard variable ${whole} in: ${expr}`);
    return value;
  });
  return out;
}

/** Every panel of the dashboard, rows' nested panels included. */
export function dashboardPanels(dashboard: any): any[] {
  const out: any[] = [];
  for (const p of dashboard.panels ?? []) {
    out.push(p);
    for (const inner of p.panels ?? []) out.push(inner);
  }
  return out;
}

export const DASHBOARD = 'grafana/dashboards/pollscope.json';
export const RULE_FILES = ['deploy/prometheus/rules/pollscope.rules.yml'];

/** The dashboard's queries as Prometheus receives them (variables substituted). */
export function dashboardExpressions(): Expression[] {
  const out: Expression[] = [];
  for (const panel of dashboardPanels(readJson(DASHBOARD))) {
    for (const t of panel.targets ?? []) {
      if (typeof t.expr === 'string')
        out.push({ where: `dashboard panel "${panel.title}" ${t.refId}`, expr: substituteGrafanaVariables(t.expr) });
    }
  }
  return out;
}

export function ruleExpressions(): Expression[] {
  const out: Expression[] = [];
  for (const file of RULE_FILES) {
    for (const group of readYaml(file).groups) {
      for (const rule of group.rules)
        out.push({ where: `${file} ${rule.alert ?? rule.record}`, expr: String(rule.expr) });
    }
  }
  return out;
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
/** Followed by a parenthesised list of label names. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

export interface Selector {
  metric: string;
  labels: string[];
}

/**
 * The vector selectors of an expression that Prometheus has already parsed (promtool check rules
 * in promql.test.ts): metric names with the label names their matchers use. A lexer, not a
 * parser: it only has to tell a metric name from a function, aggregation, keyword, label list,
 * string, duration or number in text that is known to be valid PromQL.
 */
export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  let i = 0;
  const n = expr.length;
  const skipQuoted = (): void => {
    const q = expr[i++];
    while (i < n && expr[i] !== q) i += expr[i] === '\\' && q !== '`' ? 2 : 1;
    i++;
  };
  const skipTo = (close: string): string => {
    const start = i;
    while (i < n && expr[i] !== close) {
      if (expr[i] === '"' || expr[i] === "'" || expr[i] === '`') skipQuoted();
      else i++;
    }
    i++;
    return expr.slice(start + 1, i - 1);
  };
  const labelNamesIn = (matchers: string): string[] => {
    const names: string[] = [];
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g;
    for (let m = re.exec(matchers); m; m = re.exec(matchers)) names.push(m[1]);
    return names;
  };
  while (i < n) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      skipQuoted();
      continue;
    }
    if (c === '{') {
      skipTo('}');
      continue;
    } // a selector without a metric name: none here
    if (c === '[') {
      skipTo(']');
      continue;
    }
    if (/[0-9.]/.test(c)) {
      while (i < n && /[0-9a-zA-Z_.]/.test(expr[i])) i++;
      continue;
    } // number or duration
    if (/[a-zA-Z_:]/.test(c)) {
      const start = i;
      while (i < n && /[a-zA-Z0-9_:]/.test(expr[i])) i++;
      const ident = expr.slice(start, i);
      let j = i;
      while (j < n && /\s/.test(expr[j])) j++;
      if (LABEL_LISTS.has(ident)) {
        if (expr[j] === '(') {
          i = j;
          skipTo(')');
        }
        continue;
      }
      if (expr[j] === '(' || AGGREGATIONS.has(ident) || KEYWORDS.has(ident.toLowerCase())) continue;
      let labels: string[] = [];
      if (expr[j] === '{') {
        i = j;
        labels = labelNamesIn(skipTo('}'));
      }
      out.push({ metric: ident, labels });
      continue;
    }
    i++;
  }
  return out;
}
