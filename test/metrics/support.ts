/**
 * Shared by the metrics tests: the hand-written relay log whose numbers docs in exact-values.test.ts
 * derive by hand, a reader for the exposition text (samples by series), promtool, and a real
 * Prometheus scraping `pollscope run` while a relay log is written.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ROOT,
  metricsBaseUrl,
  startChild,
  startPollscopeRun,
  startPrometheus,
  waitForAnswer,
  waitForOutput,
  type StartedPrometheus,
} from '../helpers.js';

/** `name{a="1",b="2"}` (labels sorted, `le` included) → value, for every sample line. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = m[2]
      ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort()
      : [];
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

/** The series key `samples()` uses. */
export function key(name: string, labels: Record<string, string | number> = {}): string {
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
}

export async function scrape(
  url: string,
  accept?: string,
): Promise<{ status: number; contentType: string; body: string }> {
  const res = await fetch(url, { headers: accept ? { accept } : {} });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

export function run(
  cmd: string,
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/**
 * A relay log in the fork's E3 format (polling fork + swarm fork messages, µs timestamps) with
 * every line outcome and one stall of each kind. The derivation of each number is in
 * exact-values.test.ts next to its expectation.
 */
export function handLog(): string[] {
  const L = (t: string, target: string, msg: string) => `[2022-04-21T22:${t}Z TRACE ${target}] ${msg}`;
  const pollStart = (t: string) => L(t, 'libp2p_swarm', 'Swarm<TBehavior>::Stream::poll_next:+');
  const pollEnd = (t: string, r: boolean) =>
    L(t, 'libp2p_swarm', `Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): ${r}`);
  const waitStart = (t: string) => L(t, 'polling::epoll', 'wait:+ epoll_fd=4, timeout=None');
  const wake = (t: string, n = 1) => L(t, 'polling::epoll', `wait: running epoll_fd=4, events.len=${n} events.list:`);
  const listed = (t: string, i: number, events: string, key: string) =>
    L(t, 'polling::epoll', `wait: list[${i}] libc::epoll_event { events: ${events} u64: ${key} } `);
  const waitEnd = (t: string, res = 1) => L(t, 'polling::epoll', `wait:- epoll_fd=4, res=${res}`);
  return [
    '# relay-7 log, rotated 2022-04-21', // malformed: no record before it
    pollStart('00:00.000000'),
    pollEnd('00:00.000400', false), // poll 400 µs, pending
    waitStart('00:00.000500'),
    wake('00:01.000500'),
    listed('00:01.000510', 0, '1', '0'),
    waitEnd('00:01.000600'),
    pollStart('00:01.000700'),
    pollEnd('00:01.070700', true), // delay 200 µs; poll 70 ms ready: slow_poll
    waitStart('00:01.070800'),
    wake('00:02.000000', 2),
    listed('00:02.000010', 0, '5', '0'),
    listed('00:02.000020', 1, '2019', '1'),
    waitEnd('00:02.000100', 2),
    pollStart('00:02.000200'),
    pollEnd('00:03.500200', false), // delay 200 µs; poll 1.5 s pending: blocked_poll
    waitStart('00:03.500300'),
    wake('00:04.000000'),
    listed('00:04.000010', 0, '1', '0'),
    waitEnd('00:04.000100'),
    L('00:04.000200', 'yamux::connection', '86795a90: socket eof'),
    L('00:04.000300', 'relay_v2', `rv2: reservation request ${'x'.repeat(300)}`), // oversize at --max-line-bytes 200
    pollStart('00:06.500000'),
    pollEnd('00:06.500100', false), // delay 2.5 s: starved; poll 100 µs pending
    L('00:06.500200', 'relay_v2', 'rv2: Behaviour Event::Ping event: failure'),
    '    caused by: connection reset', // continuation: ignored with its record
    L('00:08.300200', 'relay_v2', 'rv2: Behaviour Event::Ping event: …'), // 1.8 s of nothing while running: silent
    waitStart('00:08.300300'),
    wake('00:09.300300'),
    listed('00:09.300310', 0, '1', '18446744073709551615'),
    waitEnd('00:09.300400'),
    waitStart('00:09.300500'), // still waiting at the end
    L('00:12.000000', 'relay_v2', 'rv2: shutting down'),
  ];
}

/**
 * A real Prometheus scraping `pollscope run` (relay `relay`) every second while pace-writer.mjs
 * appends the first `lines` lines of `src` to the followed file at the pace of their timestamps.
 * Resolves once the daemon has read every line and Prometheus has stored a scrape of that final
 * state, so that what it holds can be compared with what the daemon serves. Five waits of up to
 * WAIT_MS each; every process goes into `children` (the caller stops them).
 */
export async function scrapedWhileWritten(o: {
  dir: string;
  relay: string;
  src: string;
  lines: number;
  /** More `pollscope run` options (thresholds, an OTLP endpoint). */
  runArgs: string[];
  children: ChildProcess[];
}): Promise<{ daemonUrl: string; prometheus: StartedPrometheus }> {
  const followed = path.join(o.dir, 'relay.log');
  writeFileSync(followed, '');
  const daemon = startPollscopeRun(
    {
      log: followed,
      relay: o.relay,
      checkpoint: path.join(o.dir, 'checkpoint.json'),
      args: [...o.runArgs, '--metrics-listen', '127.0.0.1:0'],
      cwd: o.dir,
    },
    o.children,
  );
  const daemonUrl = await metricsBaseUrl(daemon);
  const prometheus = await startPrometheus({
    dir: o.dir,
    children: o.children,
    exemplars: true,
    targets: [new URL(daemonUrl).host],
  });
  await waitForAnswer('Prometheus scraping the daemon', async () => {
    const up = await prometheus.query('up{job="pollscope"}');
    return up.length === 1 && up[0].value[1] === '1';
  });

  // The relay "writes" its log now, at the pace of its timestamps.
  const writer = startChild(
    process.execPath,
    [
      path.join(ROOT, 'test/metrics/pace-writer.mjs'),
      JSON.stringify({ src: o.src, dst: followed, lines: o.lines, speed: 1 }),
    ],
    o.children,
    { cwd: o.dir },
  );
  await waitForOutput(writer.child, writer.stdout, (t) => t.includes(`done ${o.lines}`), 'the writer');
  // Every line read by the daemon, and a scrape of that state stored by Prometheus.
  await waitForAnswer('the daemon to read every line', async () => {
    const s = samples((await scrape(`${daemonUrl}/metrics`)).body);
    const n = ['decoded', 'ignored', 'malformed', 'oversize'].reduce(
      (a, outcome) => a + (s.get(key('pollscope_lines_total', { relay: o.relay, outcome })) ?? 0),
      0,
    );
    return n === o.lines;
  });
  await waitForAnswer('Prometheus to scrape the final state', async () => {
    const r = await prometheus.query(`sum(pollscope_lines_total{relay="${o.relay}"})`);
    return r.length === 1 && Number(r[0].value[1]) === o.lines;
  });
  return { daemonUrl, prometheus };
}
