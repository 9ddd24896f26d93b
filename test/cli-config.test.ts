/**
 * The built CLI (`node dist/cli.js`) on bad flags and config files: the exact message on stderr
 * and the exit status, for each case issue 10 reported. Also: `--help` and the README's usage
 * table list every flag the configuration model knows.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS } from '../src/config.js';
import { ROOT } from './helpers.js';
import { CLI, requireBuild } from './live/support.js';

const SAMPLE = path.join(ROOT, 'samples', 'relay-stall.log');
let dir = '';
beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(path.join(os.tmpdir(), 'pollscope-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI to its end (stdin closed, stderr a pipe: not a terminal). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const HINT = "Try 'pollscope --help'.\n";

describe('durations, dates and flags: a plain message, exit 2', () => {
  it.each([
    [['--blocked-poll', '0'], "pollscope: --blocked-poll: '0': a duration must be greater than 0 (e.g. 250ms, 1.5s)\n"],
    [
      ['--blocked-poll', '-1s'],
      "pollscope: --blocked-poll: '-1s': a duration must be greater than 0 (e.g. 250ms, 1.5s)\n",
    ],
    [
      ['--blocked-poll=-1s'],
      "pollscope: --blocked-poll: '-1s': a duration must be greater than 0 (e.g. 250ms, 1.5s)\n",
    ],
    [['--starved', '-250'], "pollscope: --starved: '-250': a duration must be greater than 0 (e.g. 250ms, 1.5s)\n"],
    [
      ['--slow-poll', 'soon'],
      "pollscope: --slow-poll: 'soon' is not a duration (e.g. 250ms, 1.5s, 800us; a plain number is milliseconds)\n",
    ],
    [['--date', '2022-13-45'], "pollscope: --date: '2022-13-45' is not a date (YYYY-MM-DD, month 01 to 12)\n"],
    [['--date', '2022-02-30'], "pollscope: --date: '2022-02-30' is not a date: 2022-02 has 28 days\n"],
    [['--max-line-bytes', '0'], "pollscope: --max-line-bytes: '0' is not a whole number greater than 0\n"],
    [['--trace-sample', '1.5'], "pollscope: --trace-sample: '1.5' is not a fraction between 0 and 1\n"],
    [['--blocked-pol', '2s'], 'pollscope: replay: unknown option --blocked-pol (did you mean --blocked-poll?)\n'],
    [['--json=yes'], 'pollscope: --json takes no value\n'],
  ])('replay %j', async (flags, message) => {
    const r = await cli(['replay', ...flags, SAMPLE]);
    expect(r.stderr).toBe(message + HINT);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('a flag missing its value, an unknown command', async () => {
    const a = await cli(['replay', SAMPLE, '--blocked-poll']);
    expect(a.stderr).toBe(
      "pollscope: --blocked-poll needs a value (one that starts with '-' is written --blocked-poll=VALUE)\n" + HINT,
    );
    expect(a.code).toBe(2);
    const b = await cli(['rpelay', SAMPLE]);
    expect(b.stderr).toBe("pollscope: unknown command 'rpelay' (did you mean replay?)\n" + HINT);
    expect(b.code).toBe(2);
  });

  it('a valid date and durations still give the report, exit 0', async () => {
    const r = await cli(['replay', '--date', '2024-02-29', '--blocked-poll', '500ms', '--json', SAMPLE]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as { stalls: { counts: Record<string, number> } }).stalls.counts.blocked_poll).toBe(1);
  });

  it('run: the same checks; -1s after a flag of run, no sources, a config file that is not there', async () => {
    const a = await cli(['run', '--log', 'a.log', '--poll-interval', '-1s']);
    expect(a.stderr).toBe(
      "pollscope: --poll-interval: '-1s': a duration must be greater than 0 (e.g. 250ms, 1.5s)\n" + HINT,
    );
    expect(a.code).toBe(2);
    const b = await cli(['run', '--metrics-listen', 'off']);
    expect(b.stderr).toBe('pollscope: run needs --log PATH, --stdin, or logs: in --config\n' + HINT);
    expect(b.code).toBe(2);
    const c = await cli(['run', '--config', 'missing.yaml']);
    expect(c.stderr).toBe('pollscope: --config missing.yaml: does not exist\n' + HINT);
    expect(c.code).toBe(2);
  });
});

describe('config file errors name the key: exit 2', () => {
  it.each([
    ['logs: [a.log]\nslow_pol: 10ms\n', 'unknown key slow_pol (did you mean thresholds.slow_poll?)'],
    ['logs: [a.log]\nthresholds: { slow_pol: 10ms }\n', 'thresholds: unknown key slow_pol (did you mean slow_poll?)'],
    [
      'logs: [a.log]\nthresholds: { silent: true }\n',
      'thresholds.silent: true (boolean) is not a duration (e.g. 250ms, 1.5s, 800us; a plain number is milliseconds)',
    ],
    [
      'logs: [a.log]\nthresholds: { blocked_poll: 0 }\n',
      'thresholds.blocked_poll: 0 (number): a duration must be greater than 0 (e.g. 250ms, 1.5s)',
    ],
    [
      'logs: [a.log]\nmetrics: { listen: 99999 }\n',
      "metrics.listen: 99999 (number) is not HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464) or 'off'",
    ],
  ])('%j', async (text, message) => {
    const p = path.join(dir, 'bad.yaml');
    writeFileSync(p, text);
    const r = await cli(['run', '--config', p]);
    expect(r.stderr).toBe(`pollscope: ${p}: ${message}\n`);
    expect(r.code).toBe(2);
  });
});

describe('--progress', () => {
  it('on a non-terminal, an explicit --progress prints plain progress lines; without it, nothing', async () => {
    const r = await cli(['replay', '--progress', SAMPLE]);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^pollscope: replay: \d+% \| [\d.]+\/0\.3 MB \| ETA \d+s$/);
    expect(lines[lines.length - 1]).toMatch(/^pollscope: replay: 100% \| 0\.3\/0\.3 MB/);
    expect(r.stderr).not.toMatch(/\x1b|\r/); // eslint-disable-line no-control-regex -- no terminal control codes
    const quiet = await cli(['replay', SAMPLE]);
    expect(quiet.stderr).toBe('');
  });
});

describe('documentation in step with the configuration model', () => {
  it('--help and the README usage table name every flag; docs/live.md lists every config file key', async () => {
    const help = (await cli(['--help'])).stdout;
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const live = readFileSync(path.join(ROOT, 'docs', 'live.md'), 'utf8');
    const section = live.slice(live.indexOf('Config file'));
    for (const k of KEYS) {
      if (k.flag !== undefined) expect(help, `--${k.flag} in --help`).toContain(`--${k.flag}`);
      const replayFlag = k.flag !== undefined && (!k.inFile || /^(thresholds|traces)\.|^max_line_bytes$/.test(k.key));
      if (replayFlag) expect(readme, `--${k.flag} in README`).toContain(`\`--${k.flag}`);
      if (k.inFile) expect(section, `${k.key} in docs/live.md`).toMatch(new RegExp(`\\b${k.key.split('.').pop()}:`));
    }
  });
});
