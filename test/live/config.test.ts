/** `run` config files: YAML and JSON, env substitution for secrets, errors that name the key. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  defaultRunConfig,
  fileSettings,
  parseLogArg,
  validateConfig,
  type RunConfig,
} from '../../src/config.js';
import { tempDir } from './support.js';

let dir: { dir: string; cleanup: () => void } | null = null;
afterEach(() => {
  dir?.cleanup();
  dir = null;
});

function file(name: string, text: string): string {
  dir ??= tempDir();
  const p = path.join(dir.dir, name);
  writeFileSync(p, text);
  return p;
}

const load = (p: string): RunConfig => validateConfig(fileSettings(p), 'run');

describe('run config', () => {
  it('reads YAML: logs in three shapes, thresholds as durations, metrics and traces sections, ${ENV} secrets', () => {
    process.env.POLLSCOPE_TEST_TOKEN = 's3cret';
    const headers = file('headers.txt', 'authorization: Bearer x\n');
    const cfg = load(
      file(
        'c.yaml',
        [
          'logs:',
          '  - /var/log/relay.log',
          '  - /var/log/b.log=bee',
          '  - { path: "/var/log/x/*.log", relay: xs }',
          'from: start',
          'poll_interval: 100ms',
          'flush_partial_after: 2s',
          'thresholds: { silent: 1.5s, blocked_poll: 500 }',
          'metrics: { listen: "127.0.0.1:9999" }',
          'traces:',
          '  endpoint: http://127.0.0.1:4318',
          '  sample: 0.5',
          '  keep_delay: 5ms',
          `  headers_file: ${headers}`,
          '  max_spans: 300',
        ].join('\n'),
      ),
    );
    expect(cfg.logs).toEqual([
      { pattern: '/var/log/relay.log', relay: null },
      { pattern: '/var/log/b.log', relay: 'bee' },
      { pattern: '/var/log/x/*.log', relay: 'xs' },
    ]);
    expect(cfg.from).toBe('start');
    expect(cfg.pollIntervalMs).toBe(100);
    expect(cfg.flushPartialAfterMs).toBe(2000);
    expect(cfg.thresholds.silentNs).toBe(1.5e9);
    expect(cfg.thresholds.blockedPollNs).toBe(500e6);
    expect(cfg.thresholds.starvedNs).toBe(defaultRunConfig().thresholds.starvedNs);
    expect(cfg.metrics).toEqual({ listen: { host: '127.0.0.1', port: 9999 }, explicit: true, webConfigFile: null });
    expect(cfg.traces).toMatchObject({
      endpoint: 'http://127.0.0.1:4318',
      endpointFrom: 'file',
      sample: 0.5,
      maxSpans: 300,
      keepDelayNs: 5e6,
      headersFile: headers,
      caFile: null,
    });
    // A secret from the environment, in a value.
    const secret = load(file('s.yaml', 'logs: [a.log]\ncheckpoint: /tmp/${POLLSCOPE_TEST_TOKEN}.json\n'));
    expect(secret.checkpointPath).toBe('/tmp/s3cret.json');
  });

  it('reads JSON; a missing env variable or a bad duration is an error naming the file and key', () => {
    expect(load(file('c.json', '{"logs": ["a.log"], "checkpoint": "/tmp/x.json"}')).checkpointPath).toBe('/tmp/x.json');
    expect(() => load(file('d.yaml', 'checkpoint: ${POLLSCOPE_SURELY_UNSET_VAR}\n'))).toThrow(
      /d\.yaml: checkpoint: environment variable POLLSCOPE_SURELY_UNSET_VAR is not set/,
    );
    expect(() => load(file('e.yaml', 'logs: [a.log]\nthresholds: { silent: soon }\n'))).toThrow(ConfigError);
    expect(() => load(file('e.yaml', 'logs: [a.log]\nthresholds: { silent: soon }\n'))).toThrow(
      /e\.yaml: thresholds\.silent: 'soon' is not a duration/,
    );
  });

  it('PATH=NAME on the command line', () => {
    expect(parseLogArg('/x/relay.log=r1', null)).toEqual({ pattern: '/x/relay.log', relay: 'r1' });
    expect(parseLogArg('/x/relay.log', 'dflt')).toEqual({ pattern: '/x/relay.log', relay: 'dflt' });
  });
});
