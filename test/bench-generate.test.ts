import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LIBP2P_ENVELOPE_IDS, type Libp2pEnvelopeId } from '../src/bench/generate-libp2p.js';
import { generateLogFile } from '../src/bench/generate.js';
import { replay } from '../src/replay.js';
import {
  ENVELOPE_IDS,
  generateLog,
  type EnvelopeId,
  type GenerateOptions,
  type GenerateStats,
} from '../src/bench/generate.js';

function gen(opts: GenerateOptions): { text: string; stats: GenerateStats; chunks: number } {
  const parts: string[] = [];
  const stats = generateLog(opts, (c) => {
    parts.push(c);
  });
  return { text: parts.join(''), stats, chunks: parts.length };
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
/** SGR colour sequences (ESC `[` … `m`); the pattern is built from a string, ESC being a control character. */
const ANSI_SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const stripAnsi = (s: string): string => s.replace(ANSI_SGR, '');
/** Physical lines (the output always ends with a newline). */
const linesOf = (text: string): string[] => text.slice(0, -1).split('\n');

// Regex sketches from log-formats.md section 3.1.
const LV = '(TRACE|DEBUG|INFO|WARN|ERROR)',
  R = String.raw;
const E7 = new RegExp(R`^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) ${LV} +(\S+) (\d+) +(\d+)\] ?(.*)$`);
const E1 = new RegExp(R`^\[(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}|\.\d{6}|\.\d{9})?Z) )?${LV} +(\S+)\] ?(.*)$`);
const E8 = new RegExp(R`^ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ${LV} +(\S+) +> (.*)$`);
const TS = R`(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)|[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{3}| *\d+\.\d{9}s)`;
const T1 = new RegExp(R`^(?:${TS} )? *${LV} (?:ThreadId\((\d+)\) )?(.*)$`);

const ENVELOPE_RE: Record<Exclude<EnvelopeId, 't4-json' | Libp2pEnvelopeId>, RegExp> = {
  'e1-seconds': E1,
  'e2-module': E1,
  'e3-micros': E1,
  'e3-nanos': E1,
  'e7-fork': E7,
  'e8-pretty': E8,
  't1-full': T1,
};
const FRACTION_DIGITS: Partial<Record<EnvelopeId, number>> = {
  'e1-seconds': 0,
  'e2-module': 0,
  'e3-micros': 6,
  'e3-nanos': 9,
  'e7-fork': 6,
  'e8-pretty': 3,
  't1-full': 6,
};

const N = 20_000;
const cache = new Map<EnvelopeId, ReturnType<typeof gen>>();
function sample(env: EnvelopeId): ReturnType<typeof gen> {
  let g = cache.get(env);
  if (!g) {
    g = gen({ envelope: env, lines: N, seed: 42 });
    cache.set(env, g);
  }
  return g;
}

describe('generateLog: determinism', () => {
  it.each(ENVELOPE_IDS)('%s: same seed → same bytes, other seed → other bytes', (env) => {
    const a = sample(env);
    const b = gen({ envelope: env, lines: N, seed: 42 });
    const c = gen({ envelope: env, lines: N, seed: 43 });
    expect(sha(b.text)).toBe(sha(a.text));
    expect(b.stats).toEqual(a.stats);
    expect(sha(c.text)).not.toBe(sha(a.text));
  });

  it('output does not depend on the chunk size (streaming)', () => {
    const a = sample('e3-micros');
    const small = gen({ envelope: 'e3-micros', lines: N, seed: 42, chunkChars: 4096 });
    expect(small.chunks).toBeGreaterThan(100);
    expect(sha(small.text)).toBe(sha(a.text));
  });

  it('writes in large chunks', () => {
    const big = gen({ envelope: 'e1-seconds', lines: 60_000, seed: 1 });
    expect(big.chunks).toBeGreaterThan(1);
    expect(big.chunks).toBeLessThan(10);
  });
});

describe('generateLog: envelope layouts (log-formats.md 3.1)', () => {
  it.each(Object.keys(ENVELOPE_RE) as Exclude<EnvelopeId, 't4-json' | Libp2pEnvelopeId>[])(
    '%s: every line is an envelope line or a continuation line',
    (env) => {
      const { text, stats } = sample(env);
      const re = ENVELOPE_RE[env];
      const lines = linesOf(text);
      let envelopeLines = 0;
      let continuation = 0;
      const digits = new Set<number>();
      for (let i = 0; i < lines.length; i++) {
        const line = env === 't1-full' ? stripAnsi(lines[i]).trimEnd() : lines[i];
        const m = re.exec(line);
        if (m && !/^\s{2,}/.test(line)) {
          envelopeLines++;
          const ts = m[1];
          digits.add(ts.includes('.') ? ts.slice(ts.indexOf('.') + 1, -1).length : 0);
          if (env === 't1-full') expect(m[3], line).toMatch(/^\d\d$/); // ThreadId(NN), zero-padded
          if (env === 'e7-fork') expect(lines[i]).toMatch(/^\[\S+ (TRACE|DEBUG|INFO |WARN |ERROR) \S+ \d+ [ \d]\d\] /);
        } else {
          // continuation: indented, and never the first line
          expect(i, `line ${i + 1}: ${line}`).toBeGreaterThan(0);
          expect(line, `line ${i + 1}`).toMatch(/^\s+\S/);
          continuation++;
        }
      }
      expect(digits).toEqual(new Set([FRACTION_DIGITS[env]]));
      expect(envelopeLines).toBe(stats.records);
      expect(continuation).toBe(stats.continuationLines);
      expect(continuation).toBeGreaterThan(0); // some multi-line messages
    },
  );

  it('env_logger levels are padded {:<5}: `INFO  target]`', () => {
    const { text } = sample('e1-seconds');
    expect(text).toMatch(/^\[\S+Z INFO {2}relay_v2\] /m);
    expect(text).not.toMatch(/ INFO \S/);
  });

  it('e2-module shows the module path for bridged tracing spans, e1 the target', () => {
    expect(sample('e2-module').text).toMatch(/^\[\S+ TRACE hyper::proto::h1::role\] -> parse_headers$/m);
    expect(sample('e1-seconds').text).toMatch(/^\[\S+ TRACE tracing::span::active\] -> parse_headers;$/m);
  });

  it('e8-pretty pads targets to the longest seen so far', () => {
    const widths = linesOf(sample('e8-pretty').text)
      .filter((l) => E8.test(l))
      .map((l) => l.indexOf(' > '));
    for (let i = 1; i < widths.length; i++) expect(widths[i]).toBeGreaterThanOrEqual(widths[i - 1]);
  });

  it('t1-full: ANSI on some lines, 4 trailing spaces on log-bridged lines only', () => {
    const lines = linesOf(sample('t1-full').text);
    const ansi = lines.filter((l) => l.includes('\x1b['));
    expect(ansi.length).toBeGreaterThan(100);
    expect(ansi.length).toBeLessThan(lines.length / 10);
    const trailing = lines.filter((l) => / {4}$/.test(l)).map(stripAnsi);
    expect(trailing.length).toBeGreaterThan(100);
    for (const l of trailing) expect(l).toMatch(/ (yamux::\S+|netlink_proto::\S+): /);
    for (const l of lines) expect(l).not.toMatch(/\S {1,3}$|\S {5,}$/);
  });

  it('t4-json: one object per line, keys in tracing-subscriber order', () => {
    const { text, stats } = sample('t4-json');
    const lines = linesOf(text);
    expect(lines.length).toBe(stats.lines);
    let bridged = 0;
    for (const l of lines) {
      const o = JSON.parse(l) as Record<string, unknown>;
      const keys = Object.keys(o);
      expect(keys.slice(0, 4)).toEqual(['timestamp', 'level', 'fields', 'target']);
      expect(keys[keys.length - 1]).toBe('threadId');
      expect(o.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(o.level).toMatch(/^(TRACE|DEBUG|INFO|WARN|ERROR)$/);
      if ('log.target' in (o.fields as object)) bridged++;
      if ('span' in o) expect(keys.indexOf('spans')).toBe(keys.indexOf('span') + 1);
    }
    expect(bridged).toBeGreaterThan(0);
  });

  it('e3 uses the seed capture shapes', () => {
    const { text } = sample('e3-micros');
    expect(text).toMatch(/^\[\S+ TRACE polling::epoll\] wait: running epoll_fd=4, events.len=1 events.list:$/m);
    expect(text).toMatch(/^\[\S+ TRACE polling::epoll\] wait: list\[0\] libc::epoll_event \{ events: 1 u64: \d+ \} $/m);
    expect(text).toMatch(
      /^\[\S+ TRACE polling::epoll\] ctl:\+ tid=7 epoll_fd=4, event_fd=5 libc::epoll_event \{ events=4000201b u64=18446744073709551615 \}$/m,
    );
    expect(text).toMatch(/^\[\S+ TRACE polling::epoll\] wait:- epoll_fd=4, res=1$/m);
    expect(text).toMatch(
      /^\[\S+ TRACE libp2p_swarm\] Swarm<TBehavior>::Stream::poll_next:- result.is_ready\(\): false$/m,
    );
  });
});

/** Wait ends and swarm cycle ends, counted from the text. */
function countMarkers(env: EnvelopeId, text: string): { waits: number; cycles: number; ready: number } {
  let waits = 0,
    cycles = 0,
    ready = 0;
  for (const raw of linesOf(text)) {
    if (env === 't4-json') {
      const o = JSON.parse(raw) as { fields: { message?: string }; span?: { name: string } };
      if (o.fields.message === 'new events') waits++;
      if (o.fields.message === 'close' && o.span?.name === 'Swarm::poll') cycles++;
      continue;
    }
    const l = env === 't1-full' ? stripAnsi(raw) : raw;
    if (
      / polling::epoll(\] | +> )new events: epoll_fd=\d+, res=\d+$/.test(l) ||
      /\] wait:- epoll_fd=\d+, res=\d+$/.test(l) ||
      / polling::epoll: new events epoll_fd=\d+ res=\d+$/.test(l)
    )
      waits++;
    if (/Swarm<TBehavior>::Stream::poll_next:- (result|res)\.is_ready\(\): (true|false)$/.test(l)) {
      cycles++;
      if (l.endsWith('true')) ready++;
    }
    if (/ Swarm::poll: libp2p_swarm: close time\.busy=/.test(l)) cycles++;
  }
  return { waits, cycles, ready };
}

/** The env_logger and t1/t4 envelopes: reactor lines and four induced stall kinds (t5 is tested below). */
const CLASSIC_IDS = ENVELOPE_IDS.filter((e) => !e.startsWith('t5-'));

describe('generateLog: stats', () => {
  it.each(CLASSIC_IDS)('%s: stats match the text', (env) => {
    const { text, stats } = sample(env);
    expect(stats.envelope).toBe(env);
    expect(stats.lines).toBeGreaterThanOrEqual(N);
    expect(stats.lines).toBeLessThan(N + 20);
    expect(linesOf(text).length).toBe(stats.lines);
    expect(Buffer.byteLength(text, 'utf8')).toBe(stats.bytes);
    const c = countMarkers(env, text);
    expect(c.waits).toBe(stats.waits);
    expect(stats.waitsByReason.io + stats.waitsByReason.notify + stats.waitsByReason.timeout).toBe(stats.waits);
    expect(c.cycles).toBe(stats.pollCycles);
    if (!env.startsWith('t')) expect(c.ready).toBe(stats.pollCyclesReady);
    expect(stats.waits).toBeGreaterThan(100);
    expect(stats.pollCycles).toBeGreaterThan(100);
    expect(stats.stalls).toEqual({ slow_poll: 1, blocked_poll: 1, starved: 1, silent: 1 });
    expect(stats.lastTime).toBeGreaterThan(stats.firstTime);
  });

  it('more lines → more induced stalls, about one per 100k lines', () => {
    const g = gen({ envelope: 'e1-seconds', lines: 800_000, seed: 5 });
    const total = Object.values(g.stats.stalls).reduce((a, b) => a + b, 0);
    expect(total).toBe(8);
    for (const v of Object.values(g.stats.stalls)) expect(v).toBe(2);
  });

  it('e3-micros: the induced stalls are the only ones, measured from the timestamps', () => {
    const { text, stats } = gen({ envelope: 'e3-micros', lines: 300_000, seed: 9 });
    const SEC = 1_000_000; // µs
    const tsRe = /^\[\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d)\.(\d{6})Z /;
    let day = 0,
      lastTod = -1,
      prev = -1;
    let waitOpen = false,
      pollStart = -1,
      ioWake = -1,
      pendingWake = -1;
    const found = { slow_poll: 0, blocked_poll: 0, starved: 0, silent: 0 };
    for (const l of linesOf(text)) {
      const m = tsRe.exec(l);
      if (!m) continue; // continuation
      const tod = ((+m[1] * 60 + +m[2]) * 60 + +m[3]) * SEC + +m[4];
      if (tod < lastTod - 3600 * SEC) day++;
      lastTod = tod;
      const t = day * 86400 * SEC + tod;
      if (prev >= 0 && t - prev >= SEC && !waitOpen && pollStart < 0) found.silent++;
      prev = Math.max(prev, t);
      const msg = l.slice(l.indexOf('] ') + 2);
      if (msg.startsWith('wait:+ ')) waitOpen = true;
      else if (msg.startsWith('wait:- ')) {
        waitOpen = false;
        if (pendingWake >= 0 && ioWake < 0) ioWake = pendingWake;
        pendingWake = -1;
      } else if (msg.startsWith('wait: running ')) pendingWake = -1;
      else if (msg.startsWith('wait: list[') && !msg.includes('u64: 18446744073709551615')) pendingWake = t;
      else if (msg === 'Swarm<TBehavior>::Stream::poll_next:+') {
        if (ioWake >= 0 && t - ioWake >= SEC) found.starved++;
        ioWake = -1;
        pollStart = t;
      } else if (msg.startsWith('Swarm<TBehavior>::Stream::poll_next:- ')) {
        const d = t - pollStart;
        if (d >= SEC) found.blocked_poll++;
        else if (d >= 50_000) found.slow_poll++;
        pollStart = -1;
      }
    }
    expect(stats.stalls).toEqual({ slow_poll: 1, blocked_poll: 1, starved: 1, silent: 1 });
    expect(found).toEqual(stats.stalls);
  });
});

describe('generateLog: t5 envelopes (rust-libp2p 0.53–0.56 on tokio, FmtSpan::CLOSE)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pollscope-t5-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the shapes of the real-relay-tokio fixtures', () => {
    const full = linesOf(gen({ envelope: 't5-libp2p-full', lines: 3000, seed: 3 }).text);
    expect(
      full.some((l) => /^\S+Z DEBUG Swarm::poll: libp2p_swarm: close time\.busy=\S+ time\.idle=\S+$/.test(l)),
    ).toBe(true);
    expect(
      full.some((l) =>
        /^\S+Z DEBUG new_established_connection\{remote_addr=\/ip4\/\S+ id=\d+ peer=12D3KooW\w+\}:Connection::poll: libp2p_swarm::connection: close time\.busy=/.test(
          l,
        ),
      ),
    ).toBe(true);
    const compact = linesOf(gen({ envelope: 't5-libp2p-compact', lines: 3000, seed: 3 }).text);
    expect(
      compact.some((l) =>
        /^\S+Z TRACE new_established_connection:Connection::poll:ConnectionHandler::poll: libp2p_relay::behaviour::handler: close time\.busy=\S+ time\.idle=\S+ remote_addr=\S+ id=\d+ peer=12D3KooW\w+$/.test(
          l,
        ),
      ),
    ).toBe(true);
    const json = linesOf(gen({ envelope: 't5-libp2p-json', lines: 3000, seed: 3 }).text).map(
      (l) => JSON.parse(l) as { fields: { message: string }; span?: { name: string }; spans: { name: string }[] },
    );
    // a span's own close names it in `span` only, its ancestors in `spans`
    const swarmClose = json.find((o) => o.fields.message === 'close' && o.span?.name === 'Swarm::poll');
    expect(swarmClose?.spans).toEqual([]);
    const connClose = json.find((o) => o.fields.message === 'close' && o.span?.name === 'Connection::poll');
    expect(connClose?.spans.map((s) => s.name)).toEqual(['new_established_connection']);
  });

  it.each(LIBP2P_ENVELOPE_IDS)('%s: pollscope replay finds what the generator induced', async (env) => {
    const file = path.join(dir, `${env}.log`);
    const stats = generateLogFile(file, { envelope: env, lines: 20_000, seed: 7 });
    expect(stats.stalls.blocked_poll).toBe(1);
    expect(stats.slowConnectionPolls).toBe(3);
    const r = await replay([file]);
    expect(r.lines).toMatchObject({ decoded: stats.lines, malformed: 0 });
    expect(r.pollCycles.count).toBe(stats.pollCycles);
    expect(r.stalls.counts).toEqual({ slow_poll: 0, blocked_poll: 1, starved: 0, silent: 0 });
    expect(r.stalls.list[0]?.kind).toBe('blocked_poll');
    // the close line's busy (1.5 s) plus its idle (< 2 µs)
    expect(r.stalls.list[0]?.durationNs).toBeGreaterThanOrEqual(1_500_000_000);
    expect(r.stalls.list[0]?.durationNs).toBeLessThan(1_500_002_000);
    expect(r.connections?.polls['Connection::poll']?.slow).toBe(stats.slowConnectionPolls);
    expect(r.connections?.established).toBe(stats.connectionsEstablished);
    expect(r.connections?.closed).toBe(stats.connectionsClosed);
  });
});
