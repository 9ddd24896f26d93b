import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { replay } from '../src/replay.js';
import { fixture, ROOT } from './helpers.js';

const run = promisify(execFile);
const CLI = path.join(ROOT, 'dist/cli.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-replay-'));
function writeLog(name: string, lines: string[]): string {
  const p = path.join(tmp, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

describe('replay on the seed excerpt', () => {
  it('reports the wake, its I/O reason, the notifier re-arm, the swarm gap and the unfinished readiness', async () => {
    const r = await replay([fixture('seed/relay_v2-excerpt.log')]);
    expect(r.lines).toMatchObject({ decoded: 8, ignored: 0, malformed: 0, oversize: 0 });
    expect(r.waits.count).toBe(1);
    expect(r.waits.notable).toEqual([
      expect.objectContaining({
        fd: 4,
        start: null,
        wake: '2022-04-21T22:35:27.437652Z',
        end: '2022-04-21T22:35:27.437865Z',
        res: 1,
        reasons: ['io'],
        ready: [{ key: '0', fd: null, flags: 'IN', mask: '0x1' }],
        notifierRearm: { fd: 5, flags: 'ONESHOT|RDHUP|HUP|ERR|PRI|IN', mask: '0x4000201b' },
        gapBeforeNs: 45_143_128_000,
        sincePollEndNs: 45_143_128_000,
        thread: '7',
      }),
    ]);
    expect(r.wakeups).toEqual({ io: 1, notify: 0, timeout: 0, spurious: 0, unknown: 0 });
    expect(r.pollCycles).toMatchObject({ count: 0, lastEnd: '2022-04-21T22:34:42.294524Z', lastEndReady: false });
    expect(r.stalls.counts).toEqual({ slow_poll: 0, blocked_poll: 0, starved: 0, silent: 0 });
    expect(r.unfinished).toEqual([
      expect.objectContaining({ what: 'readiness', since: '2022-04-21T22:35:27.437652Z', followedByNs: 213_000 }),
    ]);
  });

  it('the text report says the same', async () => {
    const { code, stdout } = await cli(['replay', fixture('seed/relay_v2-excerpt.log')]);
    expect(code).toBe(0);
    expect(stdout).toContain('woke 2022-04-21T22:35:27.437652Z, ended 2022-04-21T22:35:27.437865Z, res=1');
    expect(stdout).toContain('woken by io: key 0 with IN');
    expect(stdout).toContain('notifier fd 5 re-armed with ONESHOT|RDHUP|HUP|ERR|PRI|IN (0x4000201b)');
    expect(stdout).toContain('swarm idle for 45.143128s before this wake');
    expect(stdout).toContain('last poll ended 2022-04-21T22:34:42.294524Z (Pending)');
    expect(stdout).toMatch(/readiness\s+since 2022-04-21T22:35:27.437652Z, followed by 213µs of log/);
  });
});

describe('replay on the real excerpts', () => {
  it('wezterm-4304: exactly one complete wait on epoll_fd 5, 0 at ms precision, date unknown', async () => {
    const r = await replay([fixture('real/wezterm-4304.log')], { date: new Date('2023-08-07T00:00:00Z') });
    expect(r.lines).toMatchObject({ decoded: 15, ignored: 0, malformed: 1 }); // the `# source:` line
    expect(r.waits).toMatchObject({ count: 1, startUnknown: 0, belowTimestampResolution: 1 });
    expect(r.waits.notable[0]).toMatchObject({
      fd: 5,
      start: '2023-08-07T19:44:42.662Z',
      durationNs: 0,
      res: 1,
      timeout: 'None',
      reasons: ['io'],
      notifierRearm: { fd: 6 },
      at: expect.stringMatching(/wezterm-4304.log:11$/),
    });
    expect(r.unfinished).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(/no dates/);
  });

  it('aquadoggo-25: one wait still open at the end, every duration 0 at seconds precision', async () => {
    const r = await replay([fixture('real/aquadoggo-25.log')]);
    expect(r.lines).toMatchObject({ decoded: 2, ignored: 14, malformed: 1 });
    expect(r.waits.count).toBe(0);
    expect(r.unfinished).toEqual([
      expect.objectContaining({ what: 'wait', since: '2021-04-14T08:55:28Z', followedByNs: 0 }),
    ]);
    expect(r.unfinished[0].detail).toContain('timeout 569.999073677s');
    expect(r.files[0].timestampDigits).toBe(0);
    expect(r.warnings.join('\n')).toMatch(/whole-second precision/);
  });

  it('lapin-392: one open wait on epoll_fd 9; parks are not waits', async () => {
    const r = await replay([fixture('real/lapin-392.log')]);
    expect(r.lines).toMatchObject({ decoded: 18, ignored: 0, malformed: 1 });
    expect(r.waits.count).toBe(0);
    expect(r.unfinished.map((u) => [u.what, u.detail])).toEqual([
      ['wait', 'epoll_fd 9: waiting (timeout None) when the log ended'],
    ]);
  });

  it('rust-libp2p-2609 and quilkin-660: every line parses, nothing is a wait or a poll', async () => {
    const r = await replay([fixture('real/rust-libp2p-2609.log'), fixture('real/quilkin-660.jsonl')]);
    expect(r.files.map((f) => f.envelope)).toEqual(['env_logger', 'tracing_json']);
    expect(r.lines).toMatchObject({ decoded: 0, ignored: 14, malformed: 2 });
    expect(r.lines.byTarget['multistream_select::dialer_select'].ignored).toBe(5);
    expect(r.lines.byTarget.client.ignored).toBe(2);
    expect(r.waits.count + r.pollCycles.count).toBe(0);
  });
});

/** A relay log in the fork's E3 format with one stall of each kind at known times. */
function stallLog(): string[] {
  const L = (t: string, target: string, msg: string) => `[2022-04-21T22:${t}Z TRACE ${target}] ${msg}`;
  const pollStart = (t: string) => L(t, 'libp2p_swarm', 'Swarm<TBehavior>::Stream::poll_next:+');
  const pollEnd = (t: string, r: boolean) =>
    L(t, 'libp2p_swarm', `Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): ${r}`);
  const waitStart = (t: string) => L(t, 'polling::epoll', 'wait:+ epoll_fd=4, timeout=None');
  const wake = (t: string) => L(t, 'polling::epoll', 'wait: running epoll_fd=4, events.len=1 events.list:');
  const listed = (t: string, key: string) =>
    L(t, 'polling::epoll', `wait: list[0] libc::epoll_event { events: 1 u64: ${key} } `);
  const waitEnd = (t: string) => L(t, 'polling::epoll', 'wait:- epoll_fd=4, res=1');
  return [
    pollStart('00:00.000000'),
    pollEnd('00:00.000400', false), // 400 µs poll
    waitStart('00:00.000500'),
    wake('00:01.000500'),
    listed('00:01.000510', '0'),
    waitEnd('00:01.000600'),
    pollStart('00:01.000700'),
    pollEnd('00:01.070700', true), // 70 ms: slow_poll
    waitStart('00:01.070800'),
    wake('00:02.000000'),
    listed('00:02.000010', '0'),
    waitEnd('00:02.000100'),
    pollStart('00:02.000200'),
    pollEnd('00:03.500200', false), // 1.5 s: blocked_poll
    waitStart('00:03.500300'),
    wake('00:04.000000'),
    listed('00:04.000010', '0'),
    waitEnd('00:04.000100'),
    L('00:04.000200', 'yamux::connection', '86795a90: socket eof'),
    pollStart('00:06.500000'),
    pollEnd('00:06.500100', false), // readiness at 04.000000 → 2.5 s: starved
    L('00:06.500200', 'relay_v2', 'rv2: Behaviour Event::Ping event: …'),
    L('00:08.300200', 'relay_v2', 'rv2: Behaviour Event::Ping event: …'), // 1.8 s of nothing while running: silent
    waitStart('00:08.300300'),
    wake('00:09.300300'),
    listed('00:09.300310', '18446744073709551615'),
    waitEnd('00:09.300400'),
    waitStart('00:09.300500'), // still waiting at the end
    L('00:12.000000', 'relay_v2', 'rv2: shutting down'),
  ];
}

describe('replay finds every stall kind at the right time', () => {
  it('slow_poll, blocked_poll, starved and silent with start, duration and file:line', async () => {
    const file = writeLog('stalls.log', stallLog());
    const r = await replay([file]);
    expect(r.stalls.list.map((s) => [s.kind, s.start, s.durationNs, s.at.split('/').pop()])).toEqual([
      ['slow_poll', '2022-04-21T22:00:01.000700Z', 70_000_000, 'stalls.log:7'],
      ['blocked_poll', '2022-04-21T22:00:02.000200Z', 1_500_000_000, 'stalls.log:13'],
      ['starved', '2022-04-21T22:00:04.000000Z', 2_500_000_000, 'stalls.log:15'],
      ['silent', '2022-04-21T22:00:06.500200Z', 1_800_000_000, 'stalls.log:22'],
    ]);
    expect(r.waits.count).toBe(4);
    expect(r.wakeups).toMatchObject({ io: 3, notify: 1 });
    expect(r.pollCycles).toMatchObject({ count: 4, ready: 1, pending: 3 });
    expect(r.wakeToPoll).toMatchObject({ count: 3, maxNs: 2_500_000_000 });
    expect(r.unfinished.map((u) => [u.what, u.since, u.followedByNs])).toEqual([
      ['wait', '2022-04-21T22:00:09.300500Z', 2_699_500_000],
    ]);
  });

  it('thresholds are flags', async () => {
    const file = writeLog('stalls2.log', stallLog());
    const { stdout, code } = await cli([
      'replay',
      '--json',
      '--blocked-poll',
      '2s',
      '--starved',
      '3000',
      '--silent',
      '1.9s',
      '--slow-poll',
      '100ms',
      file,
    ]);
    expect(code).toBe(0);
    const r = JSON.parse(stdout);
    // the 1.5 s poll is now only slow; the 70 ms one is below 100 ms
    expect(r.stalls.counts).toEqual({ slow_poll: 1, blocked_poll: 0, starved: 0, silent: 0 });
  });
});

describe('replay CLI errors', () => {
  it('a missing file: one line on stderr, exit 2', async () => {
    const { code, stderr, stdout } = await cli(['replay', path.join(tmp, 'nope.log')]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([`pollscope: ${path.join(tmp, 'nope.log')}: does not exist`]);
  });

  it('a directory and a bad flag: exit 2', async () => {
    const dir = path.join(tmp, 'd');
    mkdirSync(dir, { recursive: true });
    expect((await cli(['replay', dir])).code).toBe(2);
    const bad = await cli(['replay', '--slow-poll', 'soon', fixture('seed/relay_v2-excerpt.log')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--slow-poll: 'soon' is not a duration");
  });

  it('a file with no recognisable line says so and lists the layouts tried, exit 1', async () => {
    const file = writeLog('junk.log', [
      'hello',
      'world',
      '\u0000\u0001 binary-ish',
      'Listening on "/ip4/127.0.0.1/tcp/4001"',
    ]);
    const { code, stderr, stdout } = await cli(['replay', file]);
    expect(code).toBe(1);
    expect(stdout).toContain('malformed 4');
    expect(stderr).toContain('no recognisable log lines (4 lines). Layouts tried:');
    expect(stderr).toContain('env_logger 0.6+');
    expect(stderr).toContain('tracing-subscriber JSON');
  });

  it('oversize lines and invalid UTF-8 are counted, not fatal; byte offsets stay right', async () => {
    const p = path.join(tmp, 'bytes.log');
    const big = 'x'.repeat(3000);
    writeFileSync(
      p,
      Buffer.concat([
        Buffer.from('[2022-04-21T22:35:27.437652Z TRACE relay_v2] caf\xc3\xa9 \xff\xfe\n', 'latin1'),
        Buffer.from(`[2022-04-21T22:35:27.437700Z TRACE relay_v2] ${big}\n`),
        Buffer.from('[2022-04-21T22:35:27.437800Z TRACE polling::epoll] wait:+ epoll_fd=4, timeout=None\n'),
      ]),
    );
    const { code, stdout } = await cli(['replay', '--json', '--max-line-bytes', '2000', p]);
    expect(code).toBe(0);
    const r = JSON.parse(stdout);
    expect(r.lines).toMatchObject({ decoded: 1, ignored: 1, oversize: 1, malformed: 0 });
    expect(r.problems[0].reason).toMatch(/exceeds the line length limit/);
    expect(r.unfinished[0]).toMatchObject({ what: 'wait', at: `${p}:3` });
  });

  it('--help and --version', async () => {
    const h = await cli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('pollscope replay [options] FILE...');
    expect((await cli(['--version'])).stdout).toMatch(/^pollscope \d+\.\d+\.\d+/);
  });
});
