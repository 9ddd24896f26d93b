/** `run` config files: YAML and JSON, env substitution for secrets, errors that name the key. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, defaultRunConfig, loadConfigFile, parseLogArg } from '../../src/config.js';
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

describe('run config', () => {
  it('reads YAML: logs in three shapes, thresholds as durations, unknown sections kept for their owners', () => {
    process.env.POLLSCOPE_TEST_TOKEN = 's3cret';
    const cfg = loadConfigFile(
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
          'otlp: { headers: "authorization=Bearer ${POLLSCOPE_TEST_TOKEN}" }',
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
    expect((cfg.raw.otlp as { headers: string }).headers).toBe('authorization=Bearer s3cret');
  });

  it('reads JSON; a missing env variable or a bad duration is an error naming the file and key', () => {
    expect(loadConfigFile(file('c.json', '{"logs": ["a.log"], "checkpoint": "/tmp/x.json"}')).checkpointPath).toBe(
      '/tmp/x.json',
    );
    expect(() => loadConfigFile(file('d.yaml', 'checkpoint: ${POLLSCOPE_SURELY_UNSET_VAR}\n'))).toThrow(
      /POLLSCOPE_SURELY_UNSET_VAR is not set/,
    );
    expect(() => loadConfigFile(file('e.yaml', 'thresholds: { silent: soon }\n'))).toThrow(ConfigError);
    expect(() => loadConfigFile(file('e.yaml', 'thresholds: { silent: soon }\n'))).toThrow(/thresholds\.silent/);
  });

  it('PATH=NAME on the command line', () => {
    expect(parseLogArg('/x/relay.log=r1', null)).toEqual({ pattern: '/x/relay.log', relay: 'r1' });
    expect(parseLogArg('/x/relay.log', 'dflt')).toEqual({ pattern: '/x/relay.log', relay: 'dflt' });
  });
});
