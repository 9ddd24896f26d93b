/**
 * The configuration model: layers (file < environment < flags), one validation that names the
 * key or flag and what it expects, unknown keys with the nearest known one, SIGHUP's plan, and
 * the exporters built from it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_TRACES,
  envSettings,
  fileSettings,
  flagSettings,
  mergeSettings,
  nearest,
  validateConfig,
  type Settings,
} from '../src/config.js';
import { planReload } from '../src/config-reload.js';
import { exportersFor, loadTraceExporter, traceOptions } from '../src/export/exporters.js';
import { PollscopeMetrics } from '../src/export/metrics.js';
import { ReportCollector } from '../src/export/report.js';
import { TRACE_DEFAULTS, TurnTraceSink } from '../src/export/traces.js';
import { parseDuration } from '../src/time.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pollscope-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const p = path.join(dir, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}

/** The ConfigError's message (fails the test if nothing, or something else, is thrown). */
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('no ConfigError thrown');
}

const run = (...layers: Settings[]) => validateConfig(mergeSettings(...layers), 'run');
const replay = (flags: Record<string, unknown>) => validateConfig(flagSettings(flags), 'replay', ['x.log']);
const fromFile = (text: string) => run(fileSettings(file(text)));

describe('unknown keys name the nearest known one', () => {
  it('in a section, at the top level (with its section), in a logs entry', () => {
    const a = file('logs: [a.log]\nthresholds: { slow_pol: 10ms }\n');
    expect(errorOf(() => fileSettings(a))).toBe(`${a}: thresholds: unknown key slow_pol (did you mean slow_poll?)`);
    const b = file('logs: [a.log]\nslow_pol: 10ms\n');
    expect(errorOf(() => fileSettings(b))).toBe(`${b}: unknown key slow_pol (did you mean thresholds.slow_poll?)`);
    const c = file('logs: [a.log]\ncheckpoint_intervall: 2s\n');
    expect(errorOf(() => fileSettings(c))).toBe(
      `${c}: unknown key checkpoint_intervall (did you mean checkpoint_interval?)`,
    );
    const d = file('logs: [a.log]\ntraces: { enpdoint: "http://127.0.0.1:4318" }\n');
    expect(errorOf(() => fileSettings(d))).toBe(`${d}: traces: unknown key enpdoint (did you mean endpoint?)`);
    const e = file('logs: [{ path: a.log, realy: r }]\n');
    expect(errorOf(() => run(fileSettings(e)))).toMatch(/logs\[0\]: unknown key realy \(did you mean relay\?\)$/);
  });

  it('nothing close: the known keys are listed; replay-only settings are not file keys', () => {
    const a = file('colour: blue\n');
    expect(errorOf(() => fileSettings(a))).toMatch(
      /unknown key colour \(known: logs, stdin, from, checkpoint, .*traces\)$/,
    );
    expect(errorOf(() => fileSettings(file('json: true\n')))).toMatch(/unknown key json/);
    expect(nearest('blocked-pol', ['blocked-poll', 'slow-poll'])).toBe('blocked-poll');
    expect(nearest('zzz', ['blocked-poll'])).toBeNull();
  });
});

describe('wrong types name the key and the expected type', () => {
  it.each([
    ['thresholds: { silent: true }', 'thresholds.silent: true (boolean) is not a duration (e.g. 250ms, 1.5s, 800us'],
    ['max_line_bytes: lots', "max_line_bytes: 'lots' is not a whole number greater than 0"],
    ['max_line_bytes: 0', 'max_line_bytes: 0 (number) is not a whole number greater than 0'],
    ['max_line_bytes: 1.5', 'max_line_bytes: 1.5 (number) is not a whole number greater than 0'],
    ['watch: "no"', "watch: 'no' is not true or false"],
    ['from: middle', "from: 'middle' is not start or end"],
    ['thresholds: [1s]', 'thresholds: a list is not a mapping'],
    ['metrics: { listen: nowhere }', "metrics.listen: 'nowhere' is not HOST:PORT"],
    ['traces: { sample: 2 }', 'traces.sample: 2 (number) is not a fraction between 0 and 1'],
    ['traces: { max_spans: -3 }', 'traces.max_spans: -3 (number) is not a number greater than 0'],
    ['traces: { endpoint: "ftp://x" }', "traces.endpoint: 'ftp://x' is not an http:// or https:// URL"],
    ['traces: { endpoint: "not a url" }', "traces.endpoint: 'not a url' is not a URL such as http://127.0.0.1:4318"],
    ['traces: { ca_file: /nonexistent/ca.pem }', 'traces.ca_file: /nonexistent/ca.pem: does not exist'],
    ['stdin: 3', 'stdin: 3 (number) is not true, false or a relay name'],
  ])('%s', (line, message) => {
    const p = file(`logs: [a.log]\n${line}\n`);
    expect(errorOf(() => run(fileSettings(p)))).toContain(`${p}: ${message}`);
  });

  it('logs: not a list, or an entry of the wrong shape', () => {
    const p = file('logs: a.log\n');
    expect(errorOf(() => run(fileSettings(p)))).toBe(
      `${p}: logs: 'a.log' is not a list of PATH, PATH=NAME or { path, relay }`,
    );
    const q = file('logs: [{ relay: r }]\n');
    expect(errorOf(() => run(fileSettings(q)))).toBe(
      `${q}: logs[0]: a mapping is not PATH, PATH=NAME or { path, relay }`,
    );
  });

  it('not YAML, not a mapping, no sources', () => {
    expect(errorOf(() => fileSettings(file('logs: [a.log\n')))).toMatch(/: not YAML or JSON: /);
    expect(errorOf(() => fileSettings(file('- a\n- b\n')))).toMatch(
      /: expected a mapping \(key: value lines\) at the top level$/,
    );
    expect(errorOf(() => run(fileSettings(file('from: start\n'))))).toBe(
      'run needs --log PATH, --stdin, or logs: in --config',
    );
  });
});

describe('durations must be greater than 0', () => {
  it.each(['0', '0s', '-1s', '-5', '-0.5ms'])('flag %s is a usage error naming the flag', (value) => {
    let err: unknown;
    try {
      replay({ 'blocked-poll': value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).usage).toBe(true);
    expect((err as Error).message).toBe(
      `--blocked-poll: '${value}': a duration must be greater than 0 (e.g. 250ms, 1.5s)`,
    );
  });

  it('in the file too (and the file is not a usage error)', () => {
    const p = file('logs: [a.log]\npoll_interval: 0\ncheckpoint_interval: 1s\n');
    let err: unknown;
    try {
      run(fileSettings(p));
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).usage).toBe(false);
    expect((err as Error).message).toBe(
      `${p}: poll_interval: 0 (number): a duration must be greater than 0 (e.g. 250ms, 1.5s)`,
    );
    expect(errorOf(() => fromFile('logs: [a.log]\nflush_partial_after: -2s\n'))).toMatch(
      /flush_partial_after: '-2s': a duration must be greater than 0/,
    );
    // `off` (or false/null) turns the partial-line flush off; it is not a duration.
    expect(fromFile('logs: [a.log]\nflush_partial_after: off\n').flushPartialAfterMs).toBeNull();
  });

  it('one parser: units, plain milliseconds, YAML numbers', () => {
    expect(parseDuration('250ms')).toBe(250e6);
    expect(parseDuration('1.5s')).toBe(1.5e9);
    expect(parseDuration('800us')).toBe(800e3);
    expect(parseDuration('800µs')).toBe(800e3);
    expect(parseDuration(' 40 ')).toBe(40e6);
    expect(parseDuration(40)).toBe(40e6);
    expect(parseDuration('-1s')).toBe(-1e9);
    expect(parseDuration('soon')).toBeNaN();
    expect(parseDuration('5m')).toBeNaN();
    expect(parseDuration('')).toBeNaN();
  });
});

describe('--date is a calendar day', () => {
  it.each([
    ['2022-13-45', "--date: '2022-13-45' is not a date (YYYY-MM-DD, month 01 to 12)"],
    ['2022-02-30', "--date: '2022-02-30' is not a date: 2022-02 has 28 days"],
    ['2023-02-29', "--date: '2023-02-29' is not a date: 2023-02 has 28 days"],
    ['2022-04-31', "--date: '2022-04-31' is not a date: 2022-04 has 30 days"],
    ['2022-4-1', "--date: '2022-4-1' is not a date (YYYY-MM-DD)"],
    ['yesterday', "--date: 'yesterday' is not a date (YYYY-MM-DD)"],
  ])('%s', (value, message) => {
    expect(errorOf(() => replay({ date: value }))).toBe(message);
  });

  it('real days are UTC midnight, leap days included', () => {
    expect(replay({ date: '2024-02-29' }).date?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(replay({ date: '2022-04-21' }).date?.toISOString()).toBe('2022-04-21T00:00:00.000Z');
    expect(replay({}).date).toBeUndefined();
  });
});

describe('layers: defaults < file < environment < flags', () => {
  it('a flag wins over the file; the file over the defaults', () => {
    const f = fileSettings(file('logs: [a.log]\nthresholds: { silent: 3s, starved: 2s }\nmax_line_bytes: 4096\n'));
    const cfg = run(f, flagSettings({ silent: '500ms', 'max-line-bytes': '8192' }));
    expect(cfg.thresholds).toEqual({
      slowPollNs: 50e6,
      blockedPollNs: 1e9,
      starvedNs: 2e9,
      silentNs: 500e6,
      slowConnectionPollNs: 50e3,
    });
    expect(cfg.maxLineBytes).toBe(8192);
    expect(cfg.metrics).toEqual({ listen: { host: '127.0.0.1', port: 9464 }, explicit: false, webConfigFile: null });
    expect(run(f, flagSettings({ 'metrics-listen': 'off' })).metrics.listen).toBeNull();
  });

  it('the trace endpoint: file < OTEL_EXPORTER_OTLP_ENDPOINT < OTEL_EXPORTER_OTLP_TRACES_ENDPOINT < --otlp-endpoint', () => {
    const f = fileSettings(file('logs: [a.log]\ntraces: { endpoint: "http://127.0.0.1:1111" }\n'));
    expect(run(f).traces).toMatchObject({ endpoint: 'http://127.0.0.1:1111', endpointFrom: 'file' });
    const env = envSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:2222',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:3333/custom',
    });
    const fromEnv = run(f, env).traces;
    expect(fromEnv).toMatchObject({ endpoint: 'http://127.0.0.1:3333/custom', endpointFrom: 'env' });
    // From the environment the OTLP exporter reads the variables itself (the TRACES one as is).
    expect(traceOptions(fromEnv)?.endpoint).toBeUndefined();
    const flag = run(f, env, flagSettings({ 'otlp-endpoint': 'http://127.0.0.1:4444' })).traces;
    expect(flag).toMatchObject({ endpoint: 'http://127.0.0.1:4444', endpointFrom: 'flag' });
    expect(traceOptions(flag)?.endpoint).toBe('http://127.0.0.1:4444');
    expect(errorOf(() => run(f, envSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' })))).toBe(
      "OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' is not a URL such as http://127.0.0.1:4318",
    );
    expect(traceOptions(run(fileSettings(file('logs: [a.log]\n'))).traces)).toBeNull();
    expect(errorOf(() => replay({ 'jaeger-ui': 'http://127.0.0.1:16686' }))).toBe(
      '--jaeger-ui needs --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT)',
    );
  });

  it('traces.ca_file and traces.headers_file: readable paths, passed to the trace exporter as caFile/headersFile', () => {
    const ca = file('-----BEGIN CERTIFICATE-----\n');
    const headers = file('authorization: Bearer t\n');
    const cfg = fromFile(
      `logs: [a.log]\ntraces: { endpoint: "https://127.0.0.1:4318", ca_file: ${ca}, headers_file: ${headers} }\n`,
    );
    expect(cfg.traces).toMatchObject({ caFile: ca, headersFile: headers });
    expect(traceOptions(cfg.traces)).toMatchObject({
      endpoint: 'https://127.0.0.1:4318',
      caFile: ca,
      headersFile: headers,
    });
    expect(errorOf(() => fromFile('logs: [a.log]\ntraces: { headers_file: "" }\n'))).toMatch(
      /traces\.headers_file: '' is not a file path$/,
    );
  });

  it("the model's trace defaults are the trace exporter's", () => {
    expect(DEFAULT_TRACES).toEqual({
      sample: TRACE_DEFAULTS.keepFraction,
      maxSpans: TRACE_DEFAULTS.maxSpansPerSec,
      keepWaitNs: TRACE_DEFAULTS.keepWaitNs,
      keepDelayNs: TRACE_DEFAULTS.keepWakeToPollNs,
    });
  });
});

describe('SIGHUP plan', () => {
  it('file list and thresholds apply; checkpoint, metrics.listen and the rest need a restart and are kept', () => {
    const before = fromFile('logs: [a.log]\ncheckpoint: one.json\n');
    const after = fromFile(
      'logs: [a.log, b.log=bee]\ncheckpoint: two.json\nmetrics: { listen: "127.0.0.1:9999" }\nthresholds: { silent: 2s }\n',
    );
    const plan = planReload(before, after);
    expect(plan.changed).toEqual(['logs', 'thresholds.silent']);
    expect(plan.needRestart).toEqual([
      'checkpoint changed: needs a restart; keeping one.json',
      'metrics.listen changed: needs a restart; keeping 127.0.0.1:9464',
    ]);
    expect(plan.config.checkpointPath).toBe('one.json');
    expect(plan.config.metrics).toEqual(before.metrics);
    expect(plan.config.logs).toEqual(after.logs);
    expect(plan.config.thresholds.silentNs).toBe(2e9);
    expect(planReload(before, before)).toMatchObject({ changed: [], needRestart: [] });
  });
});

describe('exportersFor', () => {
  it('report first; metrics alone, or behind the trace sink when traces are on', async () => {
    const metrics = new PollscopeMetrics();
    const plain = exportersFor('r1', { report: true, metrics });
    expect(plain.report).toBeInstanceOf(ReportCollector);
    expect(plain.sinks).toEqual([plain.report, plain.metrics]);
    expect(plain.traces).toBeNull();

    await loadTraceExporter(); // the trace exporter is imported only when traces are on
    const traced = exportersFor('r2', { metrics, traces: { endpoint: 'http://127.0.0.1:9/' } });
    expect(traced.report).toBeNull();
    expect(traced.traces).toBeInstanceOf(TurnTraceSink);
    // The metrics are not fed by the pipeline: the trace sink forwards to them once a turn is decided.
    expect(traced.sinks).toEqual([traced.traces]);
    expect(traced.metrics).not.toBeNull();
    await traced.traces!.shutdown(100);

    expect(exportersFor('r3', {}).sinks).toEqual([]);
  });
});
