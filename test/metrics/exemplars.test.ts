/**
 * Exemplars end to end: `replay --otlp-endpoint … --trace-sample 0.2 --metrics-out FILE` with a real
 * OTLP receiver on loopback. The trace exporter keeps some turns and drops the others; every
 * exemplar in the OpenMetrics output must name a span the receiver got, never a dropped one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';
import { OtlpReceiver } from '../traces/otlp-receiver.js';

const exec = promisify(execFile);
const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-exemplars-'));
const receiver = new OtlpReceiver();
beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('exemplars', () => {
  it('point only at spans that were exported', async () => {
    const out = path.join(tmp, 'metrics.om');
    await exec(
      process.execPath,
      [
        path.join(ROOT, 'dist/cli.js'),
        'replay',
        path.join(ROOT, 'samples/relay-stall.log'),
        '--otlp-endpoint',
        receiver.url,
        '--trace-sample',
        '0.2',
        '--relay',
        'ex-relay',
        '--metrics-out',
        out,
      ],
      { cwd: ROOT },
    );
    const text = readFileSync(out, 'utf8');
    const exemplars = [
      ...text.matchAll(
        /^(\w+)_bucket\{([^}]*)\} \d+ \S+ # \{traceId="([0-9a-f]{32})",spanId="([0-9a-f]{16})"\} (\S+) \S+$/gm,
      ),
    ];
    const exported = new Set(receiver.spans.map((s) => `${s.traceId}/${s.spanId}`));
    const traces = new Set(receiver.spans.map((s) => s.traceId));
    expect(exemplars.length).toBeGreaterThan(5);
    expect(new Set(exemplars.map((e) => e[1]))).toEqual(
      new Set([
        'relay_epoll_wait_duration_seconds',
        'relay_epoll_events_per_wakeup',
        'relay_swarm_poll_duration_seconds',
        'relay_wake_to_poll_delay_seconds',
      ]),
    );
    for (const e of exemplars) expect(exported.has(`${e[3]}/${e[4]}`)).toBe(true);
    // Some turns were dropped (sampled out): exemplars exist although not every turn has a trace.
    const waits = Number(/relay_epoll_wakeups_total\{relay="ex-relay",reason="io"\} (\d+)/.exec(text)![1]);
    expect(traces.size).toBeLessThan(waits);
    // The exemplar's value lies in its bucket.
    for (const e of exemplars) {
      const le = /le="([^"]+)"/.exec(e[2])![1];
      if (le !== '+Inf') expect(Number(e[5])).toBeLessThanOrEqual(Number(le));
    }
  });
});
