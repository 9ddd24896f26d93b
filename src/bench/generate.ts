/**
 * Deterministic synthetic relay trace logs for the benchmark (and for tests that need volume).
 *
 * One seeded PRNG (mulberry32) drives a small model of a libp2p relay on async-io: the async-io
 * thread's react loop (epoll waits ending on I/O, notify or timeout), the main thread's swarm
 * poll cycles woken by that I/O, connections coming and going (slab keys and fds reused), noise
 * from other crates (yamux, multistream_select, libp2p_noise, netlink_proto, libp2p_tcp, hyper,
 * the relay's own INFO lines), occasional multi-line backtraces, and a few induced stalls.
 * Everything is written through one `write(chunk)` callback in ~1 MiB strings, so memory does not
 * grow with the number of lines.
 *
 * Envelope families (docs/log-formats.md, sections 3 and 5):
 * - e1-seconds, e2-module, e8-pretty: upstream polling 2.x + async-io 1.x lines (`wait:` …
 *   `new events:`), fork swarm cycle lines of the 04-13..04-27 era (`result.is_ready()`).
 * - e3-micros, e3-nanos: the seed capture's shapes (polling fork e1c433b: `wait:+ tid=7 …`,
 *   `wait: running … events.list:`, `wait: list[0] libc::epoll_event { events: 1 u64: 0 } `,
 *   modify±/ctl± with `tid=`, `wait:- …`), rust-libp2p fork 304f6a6c swarm lines.
 * - e7-fork: the E7 logger's era (2022-05-05): polling fork Add-debug-v6 (`ctl:± ADD|MOD|DEL`,
 *   hex keys, `call/retf modify to clear notification`), async-io fork v14 (`ReactorLock::react…`,
 *   `Source::poll_ready…`), rust-libp2p 45daf8e0 swarm lines (`res.is_ready()`, `Listener:±`).
 * - t1-full, t4-json: libp2p 0.54-style relay on tracing-subscriber with thread ids: polling 3.x
 *   (`new events epoll_fd=3 res=1` inside span `wait{epoll_fd=3 timeout=None}`, wait starts not
 *   logged), async-io 2.x spans, `Swarm::poll` FmtSpan `close time.busy=… time.idle=…`, `log`
 *   crates bridged (4 trailing spaces in t1, `log.*` fields in t4), some ANSI lines in t1.
 *
 * Induced stalls (model defaults: slow 50 ms, blocked 1 s, starved 1 s, silent 1 s):
 * slow_poll = a 60 ms swarm poll cycle; blocked_poll = a 1.5 s cycle; starved = an I/O wake whose
 * swarm poll starts 2 s later; silent = 1.2 s with nothing logged after a notify-only wake, before
 * the next wait starts. Outside these, nothing is silent for long unless a wait is open, poll
 * cycles stay under ~5 ms and wake-to-poll delays under ~0.2 ms.
 *
 * CLI: node dist/bench/generate.js --envelope e3-micros --lines 3000000 --out bench-data/x.log
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchFlags } from './bench-common.js';
import { generateLibp2pLog, isLibp2pEnvelope, type Libp2pEnvelopeId } from './generate-libp2p.js';

export type EnvelopeId =
  | 'e1-seconds'
  | 'e3-micros'
  | 'e3-nanos'
  | 'e2-module'
  | 'e7-fork'
  | 'e8-pretty'
  | 't1-full'
  | 't4-json'
  | Libp2pEnvelopeId;

export const ENVELOPE_IDS: readonly EnvelopeId[] = [
  'e1-seconds',
  'e3-micros',
  'e3-nanos',
  'e2-module',
  'e7-fork',
  'e8-pretty',
  't1-full',
  't4-json',
  // listed literally (not spread from generate-libp2p.ts): the two modules import each other
  't5-libp2p-full',
  't5-libp2p-compact',
  't5-libp2p-json',
];

/** Same names as the reactor model's StallKind. */
export type InducedStallKind = 'slow_poll' | 'blocked_poll' | 'starved' | 'silent';

export interface GenerateOptions {
  envelope: EnvelopeId;
  /** Physical lines to write (a multi-line record may overshoot by its continuation lines). */
  lines: number;
  seed?: number;
  /** Unix seconds of the first line; default depends on the envelope's era. */
  startSec?: number;
  /** Flush threshold in UTF-16 units (default 1 MiB). */
  chunkChars?: number;
}

export interface GenerateStats {
  envelope: EnvelopeId;
  seed: number;
  /** Physical lines written (continuation lines included). */
  lines: number;
  /** Log records (a record with continuation lines counts once). */
  records: number;
  /** Continuation lines (backtrace frames). */
  continuationLines: number;
  /** UTF-8 bytes written. */
  bytes: number;
  /** Completed waits = wait-end lines written (`new events`, fork `wait:-`). */
  waits: number;
  waitsByReason: { io: number; notify: number; timeout: number };
  /** Swarm poll cycles = cycle-end lines written (`Stream::poll_next:-`, `Swarm::poll` close). */
  pollCycles: number;
  pollCyclesReady: number;
  /** Induced stalls whose lines were completely written, by kind. */
  stalls: Record<InducedStallKind, number>;
  /** t5 envelopes: induced slow `Connection::poll`s (5–20 ms busy) whose close line was written. */
  slowConnectionPolls?: number;
  /** t5 envelopes: connections whose "Connection established" and a `Connection::poll` close were written; "Connection closed" lines written. */
  connectionsEstablished?: number;
  connectionsClosed?: number;
  /** Log time of the first and last line (Unix seconds, fractional). */
  firstTime: number;
  lastTime: number;
}

/**
 * The counts before the first line. `connectionCounts`: the t5 envelopes' connection counts too,
 * placed before the log times so that the stats JSON keeps one key order.
 */
export function zeroStats(envelope: EnvelopeId, seed: number, connectionCounts: boolean): GenerateStats {
  return {
    envelope,
    seed,
    lines: 0,
    records: 0,
    continuationLines: 0,
    bytes: 0,
    waits: 0,
    waitsByReason: { io: 0, notify: 0, timeout: 0 },
    pollCycles: 0,
    pollCyclesReady: 0,
    stalls: { slow_poll: 0, blocked_poll: 0, starved: 0, silent: 0 },
    ...(connectionCounts ? { slowConnectionPolls: 0, connectionsEstablished: 0, connectionsClosed: 0 } : {}),
    firstTime: 0,
    lastTime: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// PRNG and small formatting helpers

export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZEROS = '000000000';
function pad(v: number | string, n: number): string {
  const s = String(v);
  return s.length >= n ? s : ZEROS.slice(0, n - s.length) + s;
}

/** Rust `Duration` Debug: `569.999073677s`, `50ms`, `1.5µs`, `0ns`. */
export function rustDuration(ns: number): string {
  ns = Math.max(0, Math.round(ns));
  const s = Math.floor(ns / 1e9);
  const sub = ns - s * 1e9;
  const frac = (v: number, d: number): string => (v === 0 ? '' : '.' + pad(v, d).replace(/0+$/, ''));
  if (s > 0) return `${s}${frac(sub, 9)}s`;
  if (sub >= 1e6) return `${Math.floor(sub / 1e6)}${frac(sub % 1e6, 6)}ms`;
  if (sub >= 1e3) return `${Math.floor(sub / 1e3)}${frac(sub % 1e3, 3)}µs`;
  return `${sub}ns`;
}

/** tracing-subscriber FmtSpan timing (3 significant digits): `41.2µs`, `3.10µs`, `1.50s`. */
export function tracingTiming(ns: number): string {
  let t = ns;
  for (const unit of ['ns', 'µs', 'ms', 's']) {
    if (t < 10) return t.toFixed(2) + unit;
    if (t < 100) return t.toFixed(1) + unit;
    if (t < 1000) return t.toFixed(0) + unit;
    t /= 1000;
  }
  return (t * 1000).toFixed(0) + 's';
}

const MAX_KEY = '18446744073709551615';
const MAX_HEX = 'ffffffffffffffff';
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

// ---------------------------------------------------------------------------------------------
// Call sites, tracing spans

const TRACE = 0,
  DEBUG = 1,
  INFO = 2,
  WARN = 3;
const LV = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const LV_L5 = ['TRACE', 'DEBUG', 'INFO ', 'WARN ', 'ERROR'];
const LV_R5 = ['TRACE', 'DEBUG', ' INFO', ' WARN', 'ERROR'];
const LV_ANSI = [
  '\x1b[35mTRACE\x1b[0m',
  '\x1b[34mDEBUG\x1b[0m',
  '\x1b[32m INFO\x1b[0m',
  '\x1b[33m WARN\x1b[0m',
  '\x1b[31mERROR\x1b[0m',
];

/** A logging call site: level, target, module path and source line (E7 shows both). */
interface Site {
  lv: number;
  target: string;
  mod: string;
  src: number;
  /** Emitted through the `log` crate (matters only for the tracing envelopes). */
  log: boolean;
  file: string;
  /** Index into the generator's per-site prefix cache. */
  id: number;
}

let siteCount = 0;
function site(
  lv: number,
  target: string,
  src: number,
  opts: { mod?: string; log?: boolean; file?: string } = {},
): Site {
  return {
    lv,
    target,
    mod: opts.mod ?? target,
    src,
    log: opts.log ?? true,
    file: opts.file ?? `src/${target.split('::').slice(1).join('/') || 'lib'}.rs`,
    id: siteCount++,
  };
}

type Field = [string, string | number];

interface SpanDef {
  name: string;
  fields?: Field[];
}

/** A tracing span context, pre-rendered for T1 (plain and ANSI) and T4. */
interface Ctx {
  plain: string;
  ansi: string;
  json: string;
}

const ANSI_KV = (k: string, v: string | number): string => `\x1b[3m${k}\x1b[0m\x1b[2m=\x1b[0m${v}`;

function jsonFields(fields: Field[] | undefined, name?: string): string {
  const parts: string[] = [];
  for (const [k, v] of fields ?? [])
    parts.push(`${JSON.stringify(k)}:${typeof v === 'number' ? v : JSON.stringify(v)}`);
  if (name !== undefined) parts.push(`"name":${JSON.stringify(name)}`);
  return '{' + parts.join(',') + '}';
}

function mkCtx(spans: SpanDef[]): Ctx {
  if (spans.length === 0) return { plain: '', ansi: '', json: '' };
  let plain = '';
  let ansi = '';
  for (const s of spans) {
    const f = s.fields ?? [];
    plain += s.name + (f.length ? '{' + f.map(([k, v]) => `${k}=${v}`).join(' ') + '}' : '') + ':';
    ansi +=
      `\x1b[1m${s.name}\x1b[0m` +
      (f.length ? '\x1b[1m{\x1b[0m' + f.map(([k, v]) => ANSI_KV(k, v)).join(' ') + '\x1b[1m}\x1b[0m' : '') +
      '\x1b[2m:\x1b[0m';
  }
  const last = spans[spans.length - 1];
  const json = `,"span":${jsonFields(last.fields, last.name)},"spans":[${spans.map((s) => jsonFields(s.fields, s.name)).join(',')}]`;
  return { plain: plain + ' ', ansi: ansi + ' ', json };
}

// polling (upstream 2.x and fork)
const S_P_WAIT = site(TRACE, 'polling', 421, { file: 'src/lib.rs' });
const S_P_NOTIFY = site(TRACE, 'polling', 462, { file: 'src/lib.rs' });
const S_EP_WAIT = site(TRACE, 'polling::epoll', 183);
const S_EP_CONF = site(TRACE, 'polling::epoll', 205);
const S_EP_WAITING = site(TRACE, 'polling::epoll', 226);
const S_EP_WAITING_D = site(DEBUG, 'polling::epoll', 226);
const S_EP_RUN = site(TRACE, 'polling::epoll', 238);
const S_EP_LIST = site(TRACE, 'polling::epoll', 242);
const S_EP_CLEAR = site(TRACE, 'polling::epoll', 251);
const S_EP_RETF = site(TRACE, 'polling::epoll', 259);
const S_EP_REREG = site(TRACE, 'polling::epoll', 266);
const S_EP_END = site(TRACE, 'polling::epoll', 271);
const S_EP_NEW = site(TRACE, 'polling::epoll', 72);
const S_EP_ADD = site(TRACE, 'polling::epoll', 118);
const S_EP_MOD = site(TRACE, 'polling::epoll', 131);
const S_EP_DEL = site(TRACE, 'polling::epoll', 146);
const S_EP_NOTIFY = site(TRACE, 'polling::epoll', 292);
const S_EP_CTL = site(TRACE, 'polling::epoll', 326);
const S_EP_CTL_END = site(TRACE, 'polling::epoll', 339);
// async-io
const S_AIO_PT = site(TRACE, 'async_io::reactor', 181);
const S_AIO_PT_D = site(DEBUG, 'async_io::reactor', 203);
const S_AIO_REACT = site(TRACE, 'async_io::reactor', 412);
const S_AIO_REACT_D = site(DEBUG, 'async_io::reactor', 470);
const S_AIO_SRC = site(TRACE, 'async_io::reactor', 585);
const S_AIO_MAIN = site(TRACE, 'async_io::driver', 106);
// async-io 2.x / polling 3.x (tracing natives)
const S_T_PT = site(TRACE, 'async_io::reactor', 236, { log: false });
const S_T_REACT = site(TRACE, 'async_io::reactor', 375, { log: false });
const S_T_MAIN = site(TRACE, 'async_io::driver', 104, { log: false });
const S_T_NEWEV = site(TRACE, 'polling::epoll', 210, { log: false });
const S_T_NEW = site(TRACE, 'polling::epoll', 66, { log: false });
// swarm and instrumented layers
const S_SW_POLL = site(TRACE, 'libp2p_swarm', 1189, { file: 'swarm/src/lib.rs' });
const S_SW_POLL_END = site(TRACE, 'libp2p_swarm', 1196, { file: 'swarm/src/lib.rs' });
const S_SW_EV = site(TRACE, 'libp2p_swarm', 771, { file: 'swarm/src/lib.rs' });
const S_SW_EV_END = site(TRACE, 'libp2p_swarm', 1012, { file: 'swarm/src/lib.rs' });
const S_SW_DBG = site(DEBUG, 'libp2p_swarm', 700, { file: 'swarm/src/lib.rs' });
const S_SW_CLOSE = site(DEBUG, 'libp2p_swarm', 0, { log: false, file: 'swarm/src/lib.rs' });
const S_SW_T_DBG = site(DEBUG, 'libp2p_swarm', 739, { log: false, file: 'swarm/src/lib.rs' });
const S_SW_INFO = site(INFO, 'libp2p_swarm', 388, { log: false, file: 'swarm/src/lib.rs' });
const S_POOL_CLOSE = site(DEBUG, 'libp2p_swarm::connection::pool', 0, { log: false });
const S_CONN_CLOSE = site(DEBUG, 'libp2p_swarm::connection', 0, { log: false });
const S_MAP = site(TRACE, 'libp2p_core::transport::map', 92, { file: 'core/src/transport/map.rs' });
const S_LSTN = site(TRACE, 'libp2p_swarm::connection::listeners', 251);
const S_TCP = site(TRACE, 'libp2p_tcp', 812, { file: 'transports/tcp/src/lib.rs' });
const S_TCP_D = site(DEBUG, 'libp2p_tcp', 850, { file: 'transports/tcp/src/lib.rs' });
const S_TCP_T = site(DEBUG, 'libp2p_tcp', 700, { log: false });
const S_TCP_T_CLOSE = site(TRACE, 'libp2p_tcp', 0, { log: false });
const S_TCP_PROV = site(DEBUG, 'libp2p_tcp::provider::async_io', 96);
// noise from other crates
const S_YMX_D = site(DEBUG, 'yamux::connection', 331);
const S_YMX = site(TRACE, 'yamux::connection', 553);
const S_YMX_S = site(TRACE, 'yamux::connection::stream', 402);
const S_MSS_L = site(DEBUG, 'multistream_select::listener_select', 168);
const S_MSS_L_T = site(DEBUG, 'multistream_select::listener_select', 168, { log: false });
const S_NOISE_F = site(TRACE, 'libp2p_noise::io::framed', 221);
const S_NOISE_F_T = site(TRACE, 'libp2p_noise::io::framed', 221, { log: false });
const S_NOISE = site(TRACE, 'libp2p_noise::io', 96);
const S_NOISE_T = site(TRACE, 'libp2p_noise::io', 96, { log: false });
const S_NOISE_HS = site(DEBUG, 'libp2p_noise::io::handshake', 175);
const S_NL_C = site(DEBUG, 'netlink_proto::connection', 125);
const S_NL_K = site(DEBUG, 'netlink_proto::codecs', 58);
const S_UPG = site(DEBUG, 'libp2p_core::upgrade::apply', 231);
const S_PING = site(DEBUG, 'libp2p_ping::protocol', 88);
const S_HY_CONN = site(TRACE, 'hyper::proto::h1::conn', 227);
const S_HY_IO = site(DEBUG, 'hyper::proto::h1::io', 207);
const S_HY_ROLE = site(TRACE, 'hyper::proto::h1::role', 71);
const S_HY_ACTIVE = site(TRACE, 'tracing::span::active', 0, { mod: 'hyper::proto::h1::role' });
const S_HY_SPAN = site(TRACE, 'tracing::span', 0, { mod: 'hyper::proto::h1::role' });
const S_HY_CONN_T = site(TRACE, 'hyper::proto::h1::conn', 227, { log: false });
const S_HY_IO_T = site(DEBUG, 'hyper::proto::h1::io', 207, { log: false });
const S_HY_ROLE_T = site(TRACE, 'hyper::proto::h1::role', 71, { log: false });
const S_APP = site(INFO, 'relay_v2', 139, { file: 'protocols/relay/examples/relay_v2.rs' });
const S_APP_T = site(INFO, 'relay_server', 120, { log: false, file: 'examples/relay-server/src/main.rs' });
const S_APP_T_WARN = site(WARN, 'relay_server', 131, { log: false, file: 'examples/relay-server/src/main.rs' });

const CTX_NONE = mkCtx([]);
const SP_MAIN: SpanDef = { name: 'async_io::main_loop' };
const SP_REACT: SpanDef = { name: 'react' };
const CTX_MAIN = mkCtx([SP_MAIN]);
const CTX_REACT = mkCtx([SP_MAIN, SP_REACT]);
const CTX_PT = mkCtx([SP_MAIN, SP_REACT, { name: 'process_timers' }]);
const CTX_SWARM = mkCtx([{ name: 'Swarm::poll' }]);
const CTX_TRANSPORT = mkCtx([{ name: 'Swarm::poll' }, { name: 'Transport::poll' }]);
const CTX_POOL = mkCtx([{ name: 'Swarm::poll' }, { name: 'Pool::poll' }]);
const CTX_HYPER = mkCtx([{ name: 'parse_headers' }]);

const BACKTRACE_FRAMES = [
  'std::backtrace_rs::backtrace::libunwind::trace',
  '/rustc/4ca19e09d302a4cbde14f9cb1bc109179dc824cd/library/std/src/../../backtrace/src/backtrace/libunwind.rs:93:5',
  'std::backtrace::Backtrace::create',
  '/rustc/4ca19e09d302a4cbde14f9cb1bc109179dc824cd/library/std/src/backtrace.rs:332:13',
  'libp2p_tcp::GenTcpConfig<T>::do_listen::{{closure}}',
  '/home/wink/prgs/rust/forks/rust-libp2p/transports/tcp/src/lib.rs:880:33',
  'libp2p_core::transport::map::MapStream<T,F>::poll_next',
  '/home/wink/prgs/rust/forks/rust-libp2p/core/src/transport/map.rs:102:15',
  'libp2p_swarm::Swarm<TBehaviour>::poll_next_event',
  '/home/wink/prgs/rust/forks/rust-libp2p/swarm/src/lib.rs:845:23',
  'futures_executor::local_pool::block_on',
  '/home/wink/.cargo/registry/src/github.com-1ecc6299db9ec823/futures-executor-0.3.21/src/local_pool.rs:317:18',
];

// ---------------------------------------------------------------------------------------------
// The generator

type Family = 'up' | 'fork' | 'v6' | 'tr';
type Reason = 'io' | 'notify' | 'timeout';

interface Plan {
  reason: Reason;
  start: number;
  d: number;
  timeout: number | null;
  tick: number;
}

interface Src {
  key: number;
  fd: number;
  kind: 'netlink' | 'listener' | 'conn';
  peer: string;
  remote: string;
  cid: string;
  nextSid: number;
  connId: number;
  ctxConn: Ctx | null;
  ctxMux: Ctx | null;
}

interface Ev {
  key: number;
  flags: number;
  src: Src | null;
}

const DEFAULT_START: Record<EnvelopeId, string> = {
  'e1-seconds': '2022-04-14T10:12:03Z',
  'e2-module': '2021-04-14T08:55:28Z',
  'e3-micros': '2022-04-21T22:30:01Z',
  'e3-nanos': '2022-04-21T22:30:01Z',
  'e7-fork': '2022-05-05T09:12:05Z',
  'e8-pretty': '2021-06-02T11:40:07Z',
  't1-full': '2024-03-05T17:02:11Z',
  't4-json': '2024-03-05T17:02:11Z',
  't5-libp2p-full': '2026-05-04T09:00:00Z',
  't5-libp2p-compact': '2026-05-04T09:00:00Z',
  't5-libp2p-json': '2026-05-04T09:00:00Z',
};

const LOCAL_ADDR = '/ip4/10.0.3.7/tcp/4001';
const US = 1_000;
const MS = 1_000_000;
const SEC = 1_000_000_000;

class Generator {
  private readonly r: () => number;
  private readonly fam: Family;
  private readonly env: EnvelopeId;
  private readonly base: number;
  private readonly limit: number;
  private readonly chunk: number;
  private readonly write: (chunk: string) => void;

  now = 0;
  private full = false;
  private buf = '';
  readonly stats: GenerateStats;

  /** Constant part of a line per site (and thread, for E7). */
  private readonly tails: (string | undefined)[] = [];
  // clock cache
  private cSec = -1;
  private cIso = '';
  private e8w = 0;

  // runtime model
  private readonly epfd: number;
  private readonly evfd: number;
  private readonly tmfd: number;
  private readonly MAIN = 1;
  private readonly IO: number;
  private readonly WORKERS: number[];
  private slab: (Src | undefined)[] = [];
  private fdsUsed = new Set<number>();
  private plan: Plan | null = null;
  private tick = 3;
  private connSeq = 0;
  private readonly peers: string[] = [];
  private nextNetlink = 0;
  private nextScrape = 0;
  private readonly stallAt: number[] = [];
  private readonly stallKind: InducedStallKind[] = [];
  private stallIdx = 0;
  private firstSet = false;

  constructor(opts: GenerateOptions, write: (chunk: string) => void) {
    const seed = opts.seed ?? 1;
    this.r = mulberry32(seed);
    this.env = opts.envelope;
    this.fam = opts.envelope.startsWith('t')
      ? 'tr'
      : opts.envelope === 'e7-fork'
        ? 'v6'
        : opts.envelope.startsWith('e3')
          ? 'fork'
          : 'up';
    this.base = opts.startSec ?? Date.parse(DEFAULT_START[opts.envelope]) / 1000;
    this.limit = Math.max(1, Math.floor(opts.lines));
    this.chunk = opts.chunkChars ?? 1 << 20;
    this.write = write;
    this.stats = zeroStats(opts.envelope, seed, false);
    if (this.fam === 'tr') {
      this.epfd = 3;
      this.evfd = 4;
      this.tmfd = -1;
      this.IO = 2;
      this.WORKERS = [3, 4, 5, 6];
    } else {
      this.epfd = 4;
      this.evfd = 5;
      this.tmfd = 6;
      this.IO = 7;
      this.WORKERS = [2, 3, 4, 5, 6, 8];
    }
    for (let i = 0; i < 24; i++) {
      let p = '12D3KooW';
      for (let k = 0; k < 44; k++) p += B58[Math.floor(this.r() * 58)];
      this.peers.push(p);
    }
    // Induced stalls: at least one of each kind, about one per 100k lines, spread evenly.
    const n = Math.min(40, Math.max(4, Math.round(this.limit / 100_000)));
    const kinds: InducedStallKind[] = ['blocked_poll', 'slow_poll', 'starved', 'silent'];
    for (let i = 0; i < n; i++) {
      this.stallAt.push(Math.floor((this.limit * (i + 0.5)) / n));
      this.stallKind.push(kinds[i % 4]);
    }
  }

  // --- randomness
  private ri(a: number, b: number): number {
    return a + Math.floor(this.r() * (b - a + 1));
  }
  private chance(p: number): boolean {
    return this.r() < p;
  }
  private pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.r() * a.length)];
  }
  private logUniform(a: number, b: number): number {
    return Math.round(a * Math.pow(b / a, this.r()));
  }
  private hex8(): string {
    return pad(Math.floor(this.r() * 0xffffffff).toString(16), 8);
  }
  private remoteAddr(): string {
    return `/ip4/${this.ri(2, 223)}.${this.ri(0, 255)}.${this.ri(0, 255)}.${this.ri(1, 254)}/tcp/${this.ri(1024, 65535)}`;
  }
  /** Time between two lines of one burst: 5–60 µs (with sub-µs digits for the nanos envelope). */
  private step(): void {
    this.now += 5 * US + Math.floor(this.r() * 55 * US);
  }
  private stepSmall(): void {
    this.now += 2 * US + Math.floor(this.r() * 15 * US);
  }

  // --- output
  private stamp(t: number, digits: number): string {
    const whole = Math.floor(t / SEC);
    if (whole !== this.cSec) {
      this.cSec = whole;
      this.cIso = new Date((this.base + whole) * 1000).toISOString().slice(0, 19);
    }
    const sub = t - whole * SEC;
    switch (digits) {
      case 0:
        return this.cIso + 'Z';
      case 3:
        return this.cIso + '.' + pad(Math.floor(sub / MS), 3) + 'Z';
      case 6:
        return this.cIso + '.' + pad(Math.floor(sub / US), 6) + 'Z';
      default:
        return this.cIso + '.' + pad(sub, 9) + 'Z';
    }
  }

  /**
   * Writes one record. `msg` is the whole message for the env_logger envelopes; for the tracing
   * envelopes it is the message part and `fields` the structured fields. Returns false once the
   * line budget is spent (nothing written).
   */
  private emit(
    s: Site,
    tid: number,
    msg: string,
    ctx: Ctx | null = null,
    fields: Field[] | null = null,
    cont: string[] | null = null,
    skew = 0,
  ): boolean {
    if (this.full) return false;
    const t = Math.max(0, this.now - skew);
    let line: string;
    switch (this.env) {
      case 'e1-seconds':
      case 'e2-module':
      case 'e3-micros':
      case 'e3-nanos': {
        let tail = this.tails[s.id];
        if (tail === undefined) {
          tail = this.tails[s.id] = ` ${LV_L5[s.lv]} ${this.env === 'e2-module' ? s.mod : s.target}] `;
        }
        const digits = this.env === 'e3-micros' ? 6 : this.env === 'e3-nanos' ? 9 : 0;
        line = '[' + this.stamp(t, digits) + tail + msg + '\n';
        if (cont) for (const c of cont) line += '    ' + c + '\n';
        break;
      }
      case 'e7-fork': {
        const ti = s.id * 64 + tid;
        let tail = this.tails[ti];
        if (tail === undefined)
          tail = this.tails[ti] = ` ${LV_L5[s.lv]} ${s.mod} ${s.src} ${tid < 10 ? ' ' + tid : tid}] `;
        line = '[' + this.stamp(t, 6) + tail + msg + '\n';
        if (cont) for (const c of cont) line += c + '\n';
        break;
      }
      case 'e8-pretty': {
        if (s.target.length > this.e8w) this.e8w = s.target.length;
        line = ' ' + this.stamp(t, 3) + ' ' + LV_L5[s.lv] + ' ' + s.target.padEnd(this.e8w) + ' > ' + msg + '\n';
        if (cont) for (const c of cont) line += c + '\n';
        break;
      }
      case 't1-full': {
        const c = ctx ?? CTX_NONE;
        const thread = `ThreadId(${pad(tid, 2)}) `;
        if (this.r() < 0.04) {
          let f = '';
          if (fields)
            for (let i = 0; i < fields.length; i++)
              f += (msg === '' && i === 0 ? '' : ' ') + ANSI_KV(fields[i][0], fields[i][1]);
          line = `\x1b[2m${this.stamp(t, 6)}\x1b[0m ${LV_ANSI[s.lv]} ${thread}${c.ansi}\x1b[2m${s.target}\x1b[0m\x1b[2m:\x1b[0m ${msg}${f}`;
        } else {
          let f = '';
          if (fields)
            for (let i = 0; i < fields.length; i++)
              f += (msg === '' && i === 0 ? '' : ' ') + fields[i][0] + '=' + fields[i][1];
          line = `${this.stamp(t, 6)} ${LV_R5[s.lv]} ${thread}${c.plain}${s.target}: ${msg}${f}`;
        }
        line += s.log ? '    \n' : '\n';
        if (cont) for (const cl of cont) line += cl + '\n';
        break;
      }
      default: {
        // t4-json
        const full = cont ? msg + '\n' + cont.join('\n') : msg;
        let f = full === '' ? '' : `"message":${JSON.stringify(full)}`;
        if (fields)
          for (const [k, v] of fields)
            f += (f === '' ? '' : ',') + JSON.stringify(k) + ':' + (typeof v === 'number' ? v : JSON.stringify(v));
        if (s.log) {
          f +=
            `,"log.target":${JSON.stringify(s.target)},"log.module_path":${JSON.stringify(s.mod)},` +
            `"log.file":"/home/relay/.cargo/registry/src/index.crates.io-6f17d22bba15001f/${s.target.split('::')[0]}/${s.file}","log.line":${s.src}`;
        }
        line = `{"timestamp":"${this.stamp(t, 6)}","level":"${LV[s.lv]}","fields":{${f}},"target":"${s.target}"${(ctx ?? CTX_NONE).json},"threadId":"ThreadId(${tid})"}\n`;
        cont = null; // folded into the message
        break;
      }
    }
    const physical = 1 + (cont ? cont.length : 0);
    this.buf += line;
    if (this.buf.length >= this.chunk) this.flush();
    const st = this.stats;
    st.lines += physical;
    st.records++;
    st.continuationLines += physical - 1;
    const abs = this.base + t / SEC;
    if (!this.firstSet) {
      st.firstTime = abs;
      this.firstSet = true;
    }
    st.lastTime = abs;
    if (st.lines >= this.limit) this.full = true;
    return true;
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.stats.bytes += Buffer.byteLength(this.buf, 'utf8');
    this.write(this.buf);
    this.buf = '';
  }

  // --- stall schedule
  private dueStall(): InducedStallKind | null {
    return this.stallIdx < this.stallAt.length && this.stats.lines >= this.stallAt[this.stallIdx]
      ? this.stallKind[this.stallIdx]
      : null;
  }
  private stallDone(kind: InducedStallKind, complete: boolean): void {
    if (complete) this.stats.stalls[kind]++;
    this.stallIdx++;
  }

  // ------------------------------------------------------------------------------------------
  // Main loop

  run(): GenerateStats {
    this.startup();
    while (!this.full) this.episode();
    this.flush();
    return this.stats;
  }

  private startup(): void {
    const f = this.fam;
    this.nextNetlink = this.logUniform(200 * MS, 3 * SEC);
    this.nextScrape = this.logUniform(2 * SEC, 15 * SEC);
    const peer = this.peers[0];
    if (f === 'tr') {
      this.emit(S_SW_INFO, this.MAIN, '', CTX_NONE, [['local_peer_id', peer]]);
      this.step();
      this.emit(S_T_NEW, this.MAIN, 'new', CTX_NONE, [
        ['epoll_fd', this.epfd],
        ['notifier', `EventFd(OwnedFd { fd: ${this.evfd} })`],
      ]);
    } else {
      const rv2 = this.rv2();
      this.emit(
        S_APP,
        this.MAIN,
        f === 'v6' ? 'rv2:+ main' : rv2 + 'opt: Opt { use_ipv6: None, secret_key_seed: 0, port: 4001 }',
      );
      this.step();
      this.emit(S_APP, this.MAIN, `${rv2}Local peer id: PeerId("${peer}")`);
      this.step();
      this.pollerNew();
    }
    this.fdsUsed.add(this.epfd).add(this.evfd);
    if (this.tmfd >= 0) this.fdsUsed.add(this.tmfd);
    this.addSource('netlink', this.MAIN);
    this.addSource('listener', this.MAIN);
    if (f === 'tr') {
      this.step();
      this.emit(S_TCP_T, this.MAIN, 'listening on address', CTX_NONE, [['address', '0.0.0.0:4001']]);
      this.step();
      this.emit(S_SW_T_DBG, this.MAIN, 'New listener address', CTX_SWARM, [
        ['listener', 'ListenerId(1)'],
        ['address', LOCAL_ADDR],
      ]);
      this.step();
      this.emit(S_APP_T, this.MAIN, '', CTX_NONE, [
        ['address', LOCAL_ADDR],
        ['event', 'NewListenAddr'],
      ]);
    } else {
      this.step();
      this.emit(S_TCP_D, this.MAIN, `New listen address: ${LOCAL_ADDR}`);
      this.step();
      this.emit(S_APP, this.MAIN, this.rv2() + `NewListenAddr: ${LOCAL_ADDR}`);
    }
    this.step();
    this.startWait(this.planWait(0));
  }

  /** One react cycle: the open wait ends, the swarm polls, a new wait starts. */
  private episode(): void {
    const p = this.plan!;
    const wakeAt = Math.max(p.start + p.d, this.now + 20 * US);
    this.idleUntil(wakeAt - 40 * US);
    if (this.now < wakeAt - 40 * US) this.now = wakeAt - 40 * US;
    if (p.reason === 'notify') this.notifyLines();
    this.now = Math.max(this.now + 3 * US, wakeAt);
    const evs = this.readyEvents(p.reason);
    this.endWait(p, evs);
    if (this.full) return;
    const due = this.dueStall();

    if (due === 'silent' && p.reason === 'notify') {
      this.now += 1200 * MS + this.ri(0, 30 * MS);
      const before = this.stats.lines;
      this.startWait(this.planWait(0));
      this.stallDone('silent', this.stats.lines > before);
      return;
    }
    if (due === 'starved' && p.reason === 'io') {
      this.step();
      this.startWait(this.planWait(2300 * MS));
      const until = this.now + 2000 * MS + this.ri(0, 50 * MS);
      this.otherThreadsUntil(until);
      this.now = until;
      const ok = this.cycles(evs, p.reason, 'normal', false);
      this.stallDone('starved', ok);
      return;
    }
    if (p.reason === 'notify' && due === null && this.chance(0.35)) {
      // notify with nothing to do for the swarm: straight back into epoll
      this.step();
      this.startWait(this.planWait(0));
      return;
    }
    const kind = due === 'blocked_poll' ? 'blocked' : due === 'slow_poll' ? 'slow' : 'normal';
    const ok = this.cycles(evs, p.reason, kind, true);
    if (kind !== 'normal') this.stallDone(due!, ok);
  }

  /** What epoll returns for this wake. */
  private readyEvents(reason: Reason): Ev[] {
    if (reason !== 'io') return [{ key: -1, flags: 1, src: null }];
    const evs: Ev[] = [];
    const n = this.chance(0.12) ? 2 : 1;
    const conns = this.slab.filter((s): s is Src => s !== undefined && s.kind === 'conn');
    for (let i = 0; i < n; i++) {
      let s: Src;
      const u = this.r();
      if (conns.length === 0 || u < 0.08) s = this.slab.find((x) => x?.kind === 'listener')!;
      else if (u < 0.13) s = this.slab.find((x) => x?.kind === 'netlink')!;
      else s = this.pick(conns);
      if (evs.some((e) => e.src === s)) continue;
      const flags = s.kind === 'conn' ? (this.chance(0.03) ? 0x2011 : this.chance(0.1) ? 5 : 1) : 1;
      evs.push({ key: s.key, flags, src: s });
    }
    return evs;
  }

  private planWait(minD: number): Plan {
    const due = this.dueStall();
    let reason: Reason;
    if (due === 'starved') reason = 'io';
    else if (due === 'silent') reason = 'notify';
    else {
      const u = this.r();
      reason = u < 0.62 ? 'io' : u < 0.85 ? 'timeout' : 'notify';
    }
    const u = this.r();
    let d =
      u < 0.35
        ? this.logUniform(30 * US, 2 * MS)
        : u < 0.75
          ? this.logUniform(2 * MS, 300 * MS)
          : u < 0.95
            ? this.logUniform(300 * MS, 3 * SEC)
            : this.logUniform(3 * SEC, 12 * SEC);
    let timeout: number | null = null;
    if (reason === 'timeout') {
      d = Math.max(d, 5 * MS, minD);
      timeout = d;
      d += this.ri(20 * US, 250 * US); // the timer fires a little after the deadline
    } else {
      d = Math.max(d, minD);
      if (this.chance(0.45)) timeout = d + this.logUniform(MS, 20 * SEC);
    }
    return { reason, start: 0, d, timeout, tick: 0 };
  }

  /** Lines other threads write while the async-io thread blocks: netlink, metrics scrapes. */
  private idleUntil(t: number): void {
    for (;;) {
      const next = Math.min(this.nextNetlink, this.nextScrape);
      if (next >= t || this.full) break;
      if (next > this.now) this.now = next;
      if (next === this.nextNetlink) {
        this.netlinkNoise(this.pick(this.WORKERS));
        this.nextNetlink = this.now + this.logUniform(300 * MS, 6 * SEC);
      } else {
        this.hyperScrape(this.WORKERS[0]);
        this.nextScrape = this.now + this.logUniform(10 * SEC, 20 * SEC);
      }
    }
  }

  /** Another thread keeps logging (every 150–350 ms) while the main thread is stuck. */
  private otherThreadsUntil(t: number): void {
    for (;;) {
      const next = this.now + this.ri(150 * MS, 350 * MS);
      if (next >= t - 20 * MS || this.full) break;
      this.now = next;
      this.netlinkNoise(this.pick(this.WORKERS));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Poller lines by family

  private evDbg(key: number | string, readable: boolean, writable = false): string {
    return `Event { key: ${key}, readable: ${readable}, writable: ${writable} }`;
  }
  private keyStr(key: number): string {
    return key < 0 ? MAX_KEY : String(key);
  }
  private keyHex(key: number): string {
    return key < 0 ? MAX_HEX : key.toString(16);
  }

  private pollerNew(): void {
    const e = this.epfd,
      ev = this.evfd,
      tm = this.tmfd,
      io = this.IO;
    switch (this.fam) {
      case 'up':
        this.emit(S_EP_ADD, io, `add: epoll_fd=${e}, fd=${tm}, ev=${this.evDbg(MAX_KEY, false)}`);
        this.step();
        this.emit(S_EP_ADD, io, `add: epoll_fd=${e}, fd=${ev}, ev=${this.evDbg(MAX_KEY, true)}`);
        this.step();
        this.emit(S_EP_NEW, io, `new: epoll_fd=${e}, event_fd=${ev}, timer_fd=Some(${tm})`);
        break;
      case 'fork':
        this.emit(S_EP_NEW, io, `new:+ tid=${io}`);
        this.step();
        this.forkCtl('add', tm, -1, false, io);
        this.step();
        this.forkCtl('add', ev, -1, true, io);
        this.step();
        this.emit(S_EP_NEW, io, `new:- epoll_fd=${e}, event_fd=${ev}, timer_fd=Some(${tm})`);
        break;
      case 'v6':
        this.emit(S_EP_NEW, io, 'new:+');
        this.step();
        this.v6Ctl('ADD', tm, -1, '40000000', io);
        this.step();
        this.v6Ctl('ADD', ev, -1, '4000201b', io);
        this.step();
        this.emit(S_EP_NEW, io, `new:- epoll_fd=${e}, event_fd=${ev}, timer_fd=Some(${tm})`);
        break;
      default:
        break;
    }
    this.step();
  }

  /** Fork e1c433b add/modify with tid, its ctl pair, and the exit line. */
  private forkCtl(op: 'add' | 'modify', fd: number, key: number, readable: boolean, tid: number): void {
    const e = this.epfd,
      evfd = this.evfd,
      k = this.keyStr(key);
    const ev = this.evDbg(k, readable);
    const mask = op === 'add' && !(key < 0 && readable) ? '40000000' : '4000201b';
    this.emit(op === 'add' ? S_EP_ADD : S_EP_MOD, tid, `${op}:+ tid=${tid} epoll_fd=${e}, fd=${fd}, ev=${ev}`);
    this.stepSmall();
    this.emit(
      S_EP_CTL,
      tid,
      `ctl:+ tid=${tid} epoll_fd=${e}, event_fd=${evfd} libc::epoll_event { events=${mask} u64=${k} }`,
    );
    this.stepSmall();
    this.emit(S_EP_CTL_END, tid, `ctl:- epoll_fd=${e}, event_fd=${evfd}, ev=Some(${ev}) result=Ok(0)`);
    this.stepSmall();
    this.emit(op === 'add' ? S_EP_ADD : S_EP_MOD, tid, `${op}:- epoll_fd=${e}, fd=${fd}, ev=${ev}`);
  }

  /** Fork v6 ctl pair (the add/modify/delete wrappers log nothing in v6). */
  private v6Ctl(op: 'ADD' | 'MOD' | 'DEL', fd: number, key: number, mask: string, tid: number): void {
    const e = this.epfd,
      evfd = this.evfd;
    const ev = op === 'DEL' ? 'ev=None' : `{ events: ${mask} u64: ${this.keyHex(key)} }`;
    this.emit(S_EP_CTL, tid, `ctl:+ ${op} epoll_fd=${e}, fd=${fd} event_fd=${evfd} ${ev}`);
    this.stepSmall();
    this.emit(S_EP_CTL_END, tid, `ctl:- ${op} epoll_fd=${e}, fd=${fd} event_fd=${evfd} res=Ok(0)`);
  }

  private timeoutStr(p: Plan): string {
    return p.timeout === null ? 'None' : `Some(${rustDuration(p.timeout)})`;
  }

  /** The async-io thread enters react and starts a poller wait. */
  private startWait(p: Plan): void {
    const io = this.IO,
      e = this.epfd;
    const to = this.timeoutStr(p);
    this.tick++;
    p.tick = this.tick;
    switch (this.fam) {
      case 'up':
      case 'fork': {
        if (this.chance(0.3)) {
          this.emit(S_AIO_MAIN, io, 'main_loop: waiting on I/O');
          this.step();
        }
        this.emit(S_AIO_PT, io, 'process_timers: 0 ready wakers');
        this.step();
        this.emit(S_P_WAIT, io, `Poller::wait(_, ${to})`);
        this.stepSmall();
        p.start = this.now;
        if (this.fam === 'up') {
          this.emit(S_EP_WAIT, io, `wait: epoll_fd=${e}, timeout=${to}`);
          this.stepSmall();
          this.emit(S_EP_MOD, io, `modify: epoll_fd=${e}, fd=${this.tmfd}, ev=${this.evDbg(MAX_KEY, true)}`);
        } else {
          this.emit(S_EP_WAIT, io, `wait:+ tid=${io} epoll_fd=${e}, timeout=${to}`);
          this.stepSmall();
          this.emit(S_EP_CONF, io, `wait: configure epoll_fd=${e}, timeout=${to} ${this.secField(p.timeout)}`);
          this.stepSmall();
          this.forkCtl('modify', this.tmfd, -1, true, io);
          this.stepSmall();
          this.emit(S_EP_WAITING, io, `wait: waiting epoll_fd=${e}, timeout=${to} timeout_ms=-1, events.list.len=1000`);
        }
        break;
      }
      case 'v6': {
        const t = p.tick;
        this.emit(S_AIO_REACT, io, 'ReactorLock::react:+ ');
        this.stepSmall();
        this.emit(S_AIO_REACT, io, 'ReactorLock::react: call process_timers');
        this.stepSmall();
        this.emit(S_AIO_PT, io, 'Reactor::process_timers:+ wakers.len=0');
        this.stepSmall();
        this.emit(S_AIO_PT_D, io, 'Reactor::process_timers: 0 ready wakers');
        this.stepSmall();
        this.emit(S_AIO_PT, io, `Reactor::process_timers:- wakers.len=0 dur=${rustDuration(this.ri(1500, 9000))}`);
        this.stepSmall();
        const next =
          p.timeout === null
            ? 'None'
            : `Some(Instant { tv_sec: ${1300 + Math.floor((this.now + p.timeout) / SEC)}, tv_nsec: ${this.ri(0, 999999999)} })`;
        this.emit(S_AIO_REACT, io, `ReactorLock::react: retf process_timers next_timer=${next}; calculate timeout`);
        this.stepSmall();
        this.emit(S_AIO_REACT, io, `ReactorLock::react: timeout=${to}; bump ticker`);
        this.stepSmall();
        this.emit(S_AIO_REACT, io, `ReactorLock::react: bumped ticker tick=${t}; call events.clear()`);
        this.stepSmall();
        this.emit(
          S_AIO_REACT,
          io,
          `ReactorLock::react: tick=${t} retf events.clear(); call reactor.poller.wait timeout=${to}`,
        );
        this.stepSmall();
        this.emit(S_P_WAIT, io, `Poller::wait(_, ${to})`);
        this.stepSmall();
        p.start = this.now;
        this.emit(S_EP_WAIT, io, `wait:+ epoll_fd=${e}, timeout=${to}`);
        this.stepSmall();
        this.emit(S_EP_CONF, io, `wait: configure epoll_fd=${e}, timeout=${to} ${this.secField(p.timeout)}`);
        this.stepSmall();
        this.v6Ctl('MOD', this.tmfd, -1, '4000201b', io);
        this.stepSmall();
        this.emit(S_EP_WAITING_D, io, `wait: waiting epoll_fd=${e}, timeout=${to} timeout_ms=-1, events.list.len=1000`);
        break;
      }
      default: {
        // tr: polling 3.x logs no start; async-io 2.x logs process_timers first
        if (this.chance(0.3)) {
          this.emit(S_T_MAIN, io, 'waiting on I/O', CTX_MAIN);
          this.step();
        }
        p.start = this.now;
        this.emit(S_T_PT, io, '0 ready wakers', CTX_PT);
        break;
      }
    }
    this.plan = p;
    this.step();
  }

  /** Fork `sec={tv_sec}.{tv_nsec}` (tv_nsec not zero-padded; 0.0 = timerfd disarmed). */
  private secField(timeout: number | null): string {
    if (timeout === null) return 'sec=0.0';
    const s = Math.floor(timeout / SEC);
    return `sec=${s}.${timeout - s * SEC}`;
  }

  /** Some thread wakes the poller through the eventfd (timer inserted, task woken from outside). */
  private notifyLines(): void {
    const tid = this.pick([this.MAIN, ...this.WORKERS]);
    const e = this.epfd,
      ev = this.evfd;
    switch (this.fam) {
      case 'up':
        this.emit(S_P_NOTIFY, tid, 'Poller::notify()');
        this.stepSmall();
        this.emit(S_EP_NOTIFY, tid, `notify: epoll_fd=${e}, event_fd=${ev}`);
        break;
      case 'fork':
        this.emit(S_P_NOTIFY, tid, 'Poller::notify()');
        this.stepSmall();
        this.emit(S_EP_NOTIFY, tid, `new:+ tid=${tid} epoll_fd=${e}, event_fd=${ev}`);
        this.stepSmall();
        this.emit(S_EP_NOTIFY, tid, `notify:- epoll_fd=${e}, event_fd=${ev}`);
        break;
      case 'v6':
        this.emit(S_AIO_REACT, tid, 'Reactor::notify:+');
        this.stepSmall();
        this.emit(S_P_NOTIFY, tid, 'Poller::notify()');
        this.stepSmall();
        this.emit(S_EP_NOTIFY, tid, `notify:+ epoll_fd=${e}, event_fd=${ev}`);
        this.stepSmall();
        this.emit(S_EP_NOTIFY, tid, `notify:- epoll_fd=${e}, event_fd=${ev}`);
        this.stepSmall();
        this.emit(S_AIO_REACT, tid, 'Reactor::notify:-');
        break;
      default:
        break; // polling 3.x: Poller::notify is a span, nothing logged
    }
    this.stepSmall();
  }

  /** epoll_wait returned: wake lines, the wait's end (counted), async-io's react tail. */
  private endWait(p: Plan, evs: Ev[]): void {
    const io = this.IO,
      e = this.epfd;
    const res = p.reason === 'timeout' && this.fam === 'tr' ? 0 : evs.length;
    const ioWakers = p.reason === 'io' ? evs.length : 0;
    const timerWakers = p.reason === 'timeout' ? 1 : 0;
    let ended: boolean;
    switch (this.fam) {
      case 'up':
        ended = this.emit(S_EP_WAIT, io, `new events: epoll_fd=${e}, res=${res}`);
        this.stepSmall();
        this.emit(S_EP_MOD, io, `modify: epoll_fd=${e}, fd=${this.evfd}, ev=${this.evDbg(MAX_KEY, true)}`);
        this.stepSmall();
        break;
      case 'fork':
        this.emit(S_EP_RUN, io, `wait: running epoll_fd=${e}, events.len=${res} events.list:`);
        this.step();
        for (let i = 0; i < evs.length; i++) {
          this.emit(
            S_EP_LIST,
            io,
            `wait: list[${i}] libc::epoll_event { events: ${evs[i].flags.toString(16)} u64: ${this.keyStr(evs[i].key)} } `,
          );
          this.stepSmall();
        }
        this.forkCtl('modify', this.evfd, -1, true, io);
        this.stepSmall();
        ended = this.emit(S_EP_END, io, `wait:- epoll_fd=${e}, res=${res}`);
        this.stepSmall();
        break;
      case 'v6': {
        this.emit(S_EP_RUN, io, `wait: running epoll_fd=${e}, events.len=${res} events.list:`);
        this.step();
        for (let i = 0; i < evs.length; i++) {
          this.emit(
            S_EP_LIST,
            io,
            `wait: list[${i}] { events: ${evs[i].flags.toString(16)} u64: ${this.keyHex(evs[i].key)} }`,
          );
          this.stepSmall();
        }
        this.emit(S_EP_CLEAR, io, `wait: call modify to clear notification epoll_fd=${e}, res=${res}`);
        this.stepSmall();
        this.emit(
          S_EP_RETF,
          io,
          p.reason === 'notify'
            ? `wait: retf modify to clear notification epoll_fd=${e}, res_rd=Ok(8) buf=[1, 0, 0, 0, 0, 0, 0, 0]`
            : `wait: retf modify to clear notification epoll_fd=${e}, res_rd=Err(Os { code: 11, kind: WouldBlock, message: "Resource temporarily unavailable" }) buf=[0, 0, 0, 0, 0, 0, 0, 0]`,
        );
        this.stepSmall();
        this.emit(S_EP_REREG, io, `wait: re-register epoll_fd=${e}`);
        this.stepSmall();
        this.v6Ctl('MOD', this.evfd, -1, '4000201b', io);
        this.stepSmall();
        ended = this.emit(S_EP_END, io, `wait:- epoll_fd=${e}, res=${res}`);
        this.stepSmall();
        break;
      }
      default: {
        const to = this.timeoutStr(p);
        const ctx =
          to === 'None'
            ? this.ctxWaitNone
            : mkCtx([
                SP_MAIN,
                SP_REACT,
                { name: 'Poller::wait', fields: [['timeout', to]] },
                {
                  name: 'wait',
                  fields: [
                    ['epoll_fd', e],
                    ['timeout', to],
                  ],
                },
              ]);
        ended = this.emit(S_T_NEWEV, io, 'new events', ctx, [
          ['epoll_fd', String(e)],
          ['res', String(res)],
        ]);
        this.stepSmall();
        break;
      }
    }
    if (ended) {
      this.stats.waits++;
      this.stats.waitsByReason[p.reason]++;
    }
    // async-io react tail
    const n = ioWakers + timerWakers;
    switch (this.fam) {
      case 'up':
      case 'fork':
        if (p.reason !== 'io') {
          this.emit(S_AIO_PT, io, `process_timers: ${timerWakers} ready wakers`);
          this.stepSmall();
        }
        this.emit(S_AIO_REACT, io, `react: ${n} ready wakers`);
        break;
      case 'v6': {
        const t = p.tick;
        if (p.reason === 'io') {
          this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} ${evs.length} I/O events+`);
          this.stepSmall();
          for (const ev of evs) {
            const ed = this.evDbg(ev.key, true, ev.flags === 5);
            this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} ev=${ed}`);
            this.stepSmall();
            this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} ev=${ed} in table raw fd=${ev.src!.fd}`);
            this.stepSmall();
            this.emit(
              S_AIO_REACT,
              io,
              `ReactorLock::react: tick=${t} dir=0 raw fd=${ev.src!.fd} emitted=True Update TICK`,
            );
            this.stepSmall();
          }
          this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} ${evs.length} I/O events-`);
          this.stepSmall();
        } else {
          this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} No I/O events+`);
          this.stepSmall();
          this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} call process_timers`);
          this.stepSmall();
          this.emit(S_AIO_PT_D, io, `Reactor::process_timers: ${timerWakers} ready wakers`);
          this.stepSmall();
          this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} retf process_timers`);
          this.stepSmall();
          this.emit(S_AIO_REACT, io, `ReactorLock::react: tick=${t} No I/O events-`);
          this.stepSmall();
        }
        this.emit(S_AIO_REACT_D, io, `ReactorLock::react: wake up ${n} ready wakers`);
        this.stepSmall();
        this.emit(S_AIO_REACT, io, 'ReactorLock::react:- res=Ok(())');
        break;
      }
      default:
        if (p.reason !== 'io') {
          this.emit(S_T_PT, io, `${timerWakers} ready wakers`, CTX_PT);
          this.stepSmall();
        }
        this.emit(S_T_REACT, io, `${n} ready wakers`, CTX_REACT);
        break;
    }
    this.step();
  }

  private readonly ctxWaitNone = mkCtx([
    SP_MAIN,
    SP_REACT,
    { name: 'Poller::wait', fields: [['timeout', 'None']] },
    {
      name: 'wait',
      fields: [
        ['epoll_fd', 3],
        ['timeout', 'None'],
      ],
    },
  ]);

  // ------------------------------------------------------------------------------------------
  // Sources

  private addSource(kind: Src['kind'], tid: number): Src {
    let key = 0;
    while (this.slab[key] !== undefined) key++;
    let fd = Math.max(this.evfd, this.tmfd) + 1;
    while (this.fdsUsed.has(fd)) fd++;
    this.fdsUsed.add(fd);
    const connId = ++this.connSeq;
    const peer = this.pick(this.peers);
    const remote = this.remoteAddr();
    const s: Src = {
      key,
      fd,
      kind,
      peer,
      remote,
      cid: this.hex8(),
      nextSid: 1,
      connId,
      ctxConn: null,
      ctxMux: null,
    };
    if (this.fam === 'tr' && kind === 'conn') {
      const est: SpanDef = {
        name: 'new_established_connection',
        fields: [
          ['remote_addr', remote],
          ['id', connId],
          ['peer', peer],
        ],
      };
      s.ctxConn = mkCtx([est, { name: 'Connection::poll' }]);
      s.ctxMux = mkCtx([est, { name: 'Connection::poll' }, { name: 'StreamMuxer::poll' }]);
    }
    this.slab[key] = s;
    const e = this.epfd;
    switch (this.fam) {
      case 'up':
        this.emit(S_EP_ADD, tid, `add: epoll_fd=${e}, fd=${fd}, ev=${this.evDbg(key, false)}`);
        break;
      case 'fork':
        this.forkCtl('add', fd, key, false, tid);
        break;
      case 'v6':
        this.emit(S_AIO_REACT, tid, `Reactor::insert_io:+ raw fd=${fd}`);
        this.stepSmall();
        this.v6Ctl('ADD', fd, key, '40000000', tid);
        this.stepSmall();
        this.emit(S_AIO_REACT, tid, `Reactor::insert_io:- raw fd=${fd}`);
        break;
      default:
        break;
    }
    this.step();
    return s;
  }

  private removeSource(s: Src, tid: number): void {
    this.slab[s.key] = undefined;
    this.fdsUsed.delete(s.fd);
    const e = this.epfd;
    switch (this.fam) {
      case 'up':
        this.emit(S_EP_DEL, tid, `remove: epoll_fd=${e}, fd=${s.fd}`);
        break;
      case 'fork':
        this.emit(S_EP_DEL, tid, `delete:+ tid=${tid} epoll_fd=${e}, fd=${s.fd}`);
        this.stepSmall();
        this.emit(S_EP_CTL, tid, `ctl:+ tid=${tid} epoll_fd=${e}, event_fd=${this.evfd} ev=None`);
        this.stepSmall();
        this.emit(S_EP_CTL_END, tid, `ctl:- epoll_fd=${e}, event_fd=${this.evfd}, ev=None result=Ok(0)`);
        this.stepSmall();
        this.emit(S_EP_DEL, tid, `delete:- epoll_fd=${e}, fd=${s.fd}`);
        break;
      case 'v6':
        this.emit(S_AIO_REACT, tid, `Reactor::remove_io:+- raw fd=${s.fd}`);
        this.stepSmall();
        this.v6Ctl('DEL', s.fd, s.key, '', tid);
        break;
      default:
        break;
    }
    this.step();
  }

  /** The main thread read until WouldBlock and registers interest again (oneshot re-arm). */
  private rearm(s: Src, tid: number): void {
    const e = this.epfd;
    switch (this.fam) {
      case 'up':
        this.emit(S_EP_MOD, tid, `modify: epoll_fd=${e}, fd=${s.fd}, ev=${this.evDbg(s.key, true)}`);
        break;
      case 'fork':
        this.forkCtl('modify', s.fd, s.key, true, tid);
        break;
      case 'v6': {
        const t = this.tick;
        this.emit(
          S_AIO_SRC,
          tid,
          `Source::poll_ready:+ dir=0 raw fd=${s.fd} tick=${t} ticks=Some((${t - 1}, ${t - 2}))`,
        );
        this.stepSmall();
        this.emit(S_AIO_SRC, tid, `Source::poll_ready: dir=0 raw fd=${s.fd} setup new waker and new ticks`);
        this.stepSmall();
        this.emit(S_AIO_SRC, tid, `Source::poll_ready: dir=0 raw fd=${s.fd} was empty, call poller.modify`);
        this.stepSmall();
        this.v6Ctl('MOD', s.fd, s.key, '4000201b', tid);
        this.stepSmall();
        this.emit(S_AIO_SRC, tid, `Source::poll_ready: dir=0 raw fd=${s.fd} was empty, retf poller.modify Ok`);
        this.stepSmall();
        this.emit(S_AIO_SRC, tid, `Source::poll_ready:- dir=0 raw fd=${s.fd} Poll::Pending at bottom`);
        break;
      }
      default:
        break;
    }
    this.step();
  }

  // ------------------------------------------------------------------------------------------
  // Swarm poll cycles

  /**
   * The main thread's swarm poll cycle(s) after a wake. `hook` = start the async-io thread's next
   * wait inside the first cycle (that is when it happens in a real relay). Returns true if the
   * first cycle's end line was written.
   */
  private cycles(evs: Ev[], reason: Reason, kind: 'normal' | 'slow' | 'blocked', hook: boolean): boolean {
    this.now += this.ri(10 * US, 90 * US); // wake → poll
    const t0 = this.now;
    this.cycleBegin();
    if (hook) {
      const minD = kind === 'blocked' ? 1700 * MS : kind === 'slow' ? 80 * MS : 0;
      this.startWait(this.planWait(minD));
    }
    let ready = false;
    let appMsgs: string[] = [];
    if (reason === 'io') {
      for (const ev of evs) {
        const s = ev.src!;
        if (s.kind === 'listener') {
          appMsgs = appMsgs.concat(this.accept(s));
          ready = true;
        } else if (s.kind === 'netlink') {
          this.netlinkNoise(this.MAIN);
          this.rearm(s, this.MAIN);
        } else if (ev.flags === 0x2011 || this.chance(0.03)) this.closeConn(s, ev.flags === 0x2011);
        else {
          const m = this.connData(s, this.MAIN);
          if (m !== null) {
            appMsgs.push(m);
            ready = true;
          }
          this.rearm(s, this.MAIN);
        }
      }
    } else if (reason === 'timeout') {
      const conns = this.slab.filter((s): s is Src => s !== undefined && s.kind === 'conn');
      if (conns.length > 0) {
        const s = this.pick(conns);
        this.pingOut(s);
        if (this.chance(0.5)) {
          ready = true;
          appMsgs.push(this.appPing(s));
        }
      }
    }
    // connection tasks on the thread pool keep moving data while the swarm polls
    const busy = this.slab.filter((x): x is Src => x !== undefined && x.kind === 'conn');
    if (busy.length > 0 && this.chance(0.7)) this.frameLines(this.pick(busy), this.pick(this.WORKERS), this.ri(1, 6));
    this.listenerLayers();
    if (kind === 'slow') this.busyUntil(t0 + 60 * MS + this.ri(0, 2 * MS));
    if (kind === 'blocked') {
      this.emit(
        this.fam === 'tr' ? S_APP_T : S_APP,
        this.MAIN,
        this.fam === 'tr' ? 'handling relay reservation' : this.rv2() + 'handling relay reservation',
      );
      const until = t0 + 1500 * MS + this.ri(0, 30 * MS);
      this.otherThreadsUntil(until);
      this.now = until;
    }
    const ok = this.cycleEnd(ready, t0);
    if (ready) {
      for (const m of appMsgs) {
        this.appLine(m);
      }
      this.now += this.ri(5 * US, 40 * US);
      const t1 = this.now;
      this.cycleBegin();
      this.listenerLayers();
      this.cycleEnd(false, t1);
    }
    return ok;
  }

  private rv2(): string {
    return this.env === 'e2-module' || this.env === 'e8-pretty' ? '' : 'rv2: ';
  }

  private appLine(m: string): void {
    if (this.fam === 'tr') {
      // upstream relay-server style: the SwarmEvent's Debug
      const ev = m.startsWith('Unknown event: ')
        ? m.slice(15)
        : m.replace(/^Behaviour Event::(\w+) event: (.*)$/, 'Behaviour(BehaviourEvent::$1($2))');
      this.emit(S_APP_T, this.MAIN, '', CTX_NONE, [['event', ev]]);
    } else this.emit(S_APP, this.MAIN, this.rv2() + m);
    this.step();
  }

  private cycleBegin(): void {
    const M = this.MAIN;
    switch (this.fam) {
      case 'up':
      case 'fork':
        this.emit(S_SW_POLL, M, 'Swarm<TBehavior>::Stream::poll_next:+');
        this.step();
        this.emit(S_SW_EV, M, 'Swarm<TBehavior>::poll_next_event:+');
        break;
      case 'v6':
        this.emit(S_SW_POLL, M, 'Swarm<TBehavior>::Stream::poll_next:+');
        this.step();
        this.emit(S_SW_EV, M, 'Listener:+');
        this.step();
        this.emit(S_SW_EV, M, 'Listener: TOL');
        break;
      default:
        break; // Swarm::poll is only visible at its close
    }
    this.step();
  }

  /** The transport/listener layers polled inside every cycle (all Pending). */
  private listenerLayers(): void {
    const M = this.MAIN;
    switch (this.fam) {
      case 'up':
      case 'fork': {
        this.emit(S_LSTN, M, 'ListenerStream<TTrans>::poll:+');
        this.step();
        this.emit(S_MAP, M, 'MapStream::Stream::poll_next:+');
        this.step();
        if (this.fam === 'fork') {
          this.emit(S_TCP_PROV, M, `Tcp::Provider::poll_accept:+ tid=${M} incomming`);
          this.stepSmall();
          this.emit(
            S_TCP_PROV,
            M,
            `Tcp::Provider::poll_accept: call poll_readable cx=Context { waker: Waker { data: 0x55d1c2a3b4c0, vtable: 0x55d1c0f1e2a8 } }`,
          );
          this.stepSmall();
          this.emit(S_TCP_PROV, M, 'Tcp::Provider::poll_accept: retf poll_readable prr=Pending');
          this.stepSmall();
          this.emit(S_TCP_PROV, M, 'Tcp::Provider::poll_accept:- result.is_ready(): false');
          this.step();
        }
        this.emit(S_MAP, M, 'MapStream::Stream::poll_next:- result.is_ready(): false');
        this.step();
        this.emit(S_LSTN, M, `ListenerStream<TTrans>::poll:- ${this.ri(3, 7)} result.is_ready(): false`);
        break;
      }
      case 'v6':
        this.emit(S_TCP, M, 'poll_next:+');
        this.stepSmall();
        this.emit(S_TCP, M, 'poll_next: TOL');
        this.stepSmall();
        this.emit(S_TCP, M, 'poll_next: check if pausing');
        this.stepSmall();
        this.emit(S_TCP, M, 'poll_next: not pausing');
        this.stepSmall();
        this.emit(S_TCP, M, 'poll_next: invoke Provider::poll_accept');
        this.stepSmall();
        this.emit(S_TCP_PROV, M, 'Tcp::Provider::poll_accept:+ incoming');
        this.stepSmall();
        this.emit(S_TCP_PROV, M, 'Tcp::Provider::poll_accept: retf poll_readable prr=Pending');
        this.stepSmall();
        this.emit(S_TCP_PROV, M, 'Tcp::Provider::poll_accept:- result.is_ready(): false');
        this.stepSmall();
        this.emit(S_TCP, M, 'poll_next:- No incoming res=Pending');
        this.step();
        this.emit(S_SW_EV, M, 'Listener: behaviour_poll');
        break;
      default:
        if (this.chance(0.5)) {
          this.emit(S_TCP_T_CLOSE, M, 'close', CTX_TRANSPORT, [
            ['time.busy', tracingTiming(this.ri(800, 9000))],
            ['time.idle', tracingTiming(this.ri(400, 3000))],
          ]);
          this.step();
        }
        if (this.chance(0.3)) {
          this.emit(S_POOL_CLOSE, M, 'close', CTX_POOL, [
            ['time.busy', tracingTiming(this.ri(1500, 30000))],
            ['time.idle', tracingTiming(this.ri(400, 3000))],
          ]);
        }
        break;
    }
    this.step();
  }

  /** Ends a cycle (counted). Returns true if the end line was written. */
  private cycleEnd(ready: boolean, t0: number): boolean {
    const M = this.MAIN;
    let ok: boolean;
    switch (this.fam) {
      case 'up':
      case 'fork':
        this.emit(
          S_SW_EV_END,
          M,
          ready
            ? 'Swarm<TBehavior>::poll_next_event:- behaviour_poll Poll::Ready(NetworkBehaviourAction::GenerateEvent(event: ??)) result.is_ready: true'
            : 'Swarm<TBehavior>::poll_next_event:- behaviour_poll Poll::Pending listeners_not_ready: true && connections_not_ready: true, result.is_ready: false',
        );
        this.stepSmall();
        ok = this.emit(S_SW_POLL_END, M, `Swarm<TBehavior>::Stream::poll_next:- result.is_ready(): ${ready}`);
        break;
      case 'v6':
        this.emit(
          S_SW_EV_END,
          M,
          ready
            ? 'Listener:- behaviour_poll Poll::Ready(NetworkBehaviourAction::GenerateEvent(event: ??)) res.is_ready: true'
            : 'Listener:- behaviour_poll Poll::Pending listeners_not_ready: true && connections_not_ready: true, res.is_ready: false',
        );
        this.stepSmall();
        ok = this.emit(S_SW_POLL_END, M, `Swarm<TBehavior>::Stream::poll_next:- res.is_ready(): ${ready}`);
        break;
      default: {
        const idle = this.ri(1500, 6000);
        const busy = Math.max(1000, this.now - t0 - idle);
        ok = this.emit(S_SW_CLOSE, M, 'close', CTX_SWARM, [
          ['time.busy', tracingTiming(busy)],
          ['time.idle', tracingTiming(idle)],
        ]);
        break;
      }
    }
    if (ok) {
      this.stats.pollCycles++;
      if (ready) this.stats.pollCyclesReady++;
    }
    this.step();
    return ok;
  }

  /** A slow poll: the main thread keeps working (decrypting, yamux frames) until t. */
  private busyUntil(t: number): void {
    const conns = this.slab.filter((s): s is Src => s !== undefined && s.kind === 'conn');
    while (this.now < t - 3 * MS && !this.full) {
      this.now += this.ri(MS, 3 * MS);
      if (conns.length > 0) this.frameLines(this.pick(conns), this.MAIN, 3);
      else this.netlinkNoise(this.MAIN);
    }
    this.now = Math.max(this.now, t);
  }

  // ------------------------------------------------------------------------------------------
  // Connection traffic and noise

  private connCtx(s: Src, mux: boolean): Ctx | null {
    return this.fam === 'tr' ? (mux ? s.ctxMux : s.ctxConn) : null;
  }

  /** Noise + yamux lines for n frames on connection s. */
  private frameLines(s: Src, tid: number, n: number): void {
    const tr = this.fam === 'tr';
    const mux = this.connCtx(s, true);
    const conn = this.connCtx(s, false);
    for (let i = 0; i < n; i++) {
      const len = this.pick([16, 48, 84, 128, 256, 1024, 16384]);
      const sid = Math.max(1, s.nextSid - 1 - this.ri(0, 2)) * 2 + 1;
      switch (this.ri(0, 5)) {
        case 0:
          this.emit(tr ? S_NOISE_F_T : S_NOISE_F, tid, `read: frame len = ${len + 16}`, conn);
          this.stepSmall();
          this.emit(tr ? S_NOISE_F_T : S_NOISE_F, tid, `read: decrypting ${len + 16} bytes`, conn);
          this.stepSmall();
          this.emit(tr ? S_NOISE_F_T : S_NOISE_F, tid, `read: payload len = ${len} bytes`, conn);
          break;
        case 1:
          this.emit(S_YMX, tid, `${s.cid}: received: (Header Data ${sid} (len ${len}) (flags 0))`, mux);
          break;
        case 2:
          this.emit(S_YMX_S, tid, `${s.cid}/${sid}: read ${len} bytes`, mux);
          this.stepSmall();
          this.emit(tr ? S_NOISE_T : S_NOISE, tid, `read: copied ${len}/${len} bytes`, conn);
          break;
        case 3:
          this.emit(S_YMX, tid, `${s.cid}/${sid}: sending: (Header Data ${sid} (len ${len}) (flags 0))`, mux);
          this.stepSmall();
          this.emit(tr ? S_NOISE_T : S_NOISE, tid, `write: sending ${len + 12} bytes`, conn);
          this.stepSmall();
          this.emit(tr ? S_NOISE_F_T : S_NOISE_F, tid, `write: cipher text len = ${len + 28} bytes`, conn);
          break;
        case 4:
          this.emit(S_YMX, tid, `${s.cid}: received: (Header WindowUpdate ${sid} (len ${len * 16}) (flags 0))`, mux);
          break;
        default:
          this.emit(tr ? S_NOISE_T : S_NOISE, tid, `flush: sending ${len + 12} bytes`, conn);
          break;
      }
      this.step();
    }
    if (tr && this.chance(0.5)) {
      this.emit(S_CONN_CLOSE, tid, 'close', conn, [
        ['time.busy', tracingTiming(this.ri(3000, 90000))],
        ['time.idle', tracingTiming(this.ri(1000, 40000))],
      ]);
      this.step();
    }
  }

  /** Data on a connection; sometimes a new stream with protocol negotiation. Returns an app event or null. */
  private connData(s: Src, tid0: number): string | null {
    // In the env_logger relays connection tasks run on a thread pool; lines may come from workers.
    const tid = this.fam === 'tr' || this.chance(0.5) ? this.pick(this.WORKERS) : tid0;
    this.frameLines(s, tid, this.ri(2, 10));
    if (this.chance(0.15)) {
      const sid = s.nextSid++ * 2;
      const proto = this.pick([
        '/ipfs/id/1.0.0',
        '/ipfs/ping/1.0.0',
        '/libp2p/circuit/relay/0.2.0/hop',
        '/ipfs/id/push/1.0.0',
      ]);
      const mux = this.connCtx(s, true);
      this.emit(
        S_YMX_D,
        tid,
        `${s.cid}: new inbound (Stream ${s.cid}/${sid}) of (Connection ${s.cid} Server (streams ${this.ri(1, 6)}))`,
        mux,
      );
      this.step();
      if (this.fam === 'tr') {
        this.emit(S_MSS_L_T, tid, 'Listener: confirming protocol', this.connCtx(s, false), [['protocol', proto]]);
      } else {
        this.emit(S_MSS_L, tid, `Listener: confirming protocol: ${proto}`);
        this.step();
        this.emit(S_MSS_L, tid, `Listener: sent confirmed protocol: ${proto}`);
        this.step();
        this.emit(S_UPG, tid, 'Successfully applied negotiated protocol');
      }
      this.step();
      if (proto === '/libp2p/circuit/relay/0.2.0/hop')
        return `Behaviour Event::Relay event: ReservationReqAccepted { src_peer_id: PeerId("${s.peer}"), renewed: ${this.chance(0.5)} }`;
      if (proto === '/ipfs/id/1.0.0') return `Behaviour Event::Identify event: Sent { peer_id: PeerId("${s.peer}") }`;
    }
    return null;
  }

  private pingOut(s: Src): void {
    const tid = this.pick(this.WORKERS);
    if (this.fam !== 'tr') {
      this.emit(S_PING, tid, 'Preparing ping payload [..]');
      this.step();
    }
    this.frameLines(s, tid, this.ri(1, 3));
  }

  private appPing(s: Src): string {
    return `Behaviour Event::Ping event: Event { peer: PeerId("${s.peer}"), result: Ok(Ping { rtt: ${rustDuration(this.logUniform(300 * US, 180 * MS))} }) }`;
  }

  /** The listener is readable: accept, register the socket, negotiate noise and yamux. */
  private accept(l: Src): string[] {
    const M = this.MAIN;
    const conns = this.slab.filter((s): s is Src => s !== undefined && s.kind === 'conn');
    if (conns.length >= 10) this.closeConn(conns[0], false);
    const s = this.addSource('conn', M);
    const tr = this.fam === 'tr';
    if (tr) {
      this.emit(S_TCP_T, M, 'Incoming connection from remote at local', CTX_TRANSPORT, [
        ['remote_address', s.remote],
        ['local_address', LOCAL_ADDR],
      ]);
    } else if (this.fam === 'v6') {
      this.emit(
        S_TCP_D,
        M,
        `poll_next: Incoming connection from ${s.remote} at ${LOCAL_ADDR} backtrace`,
        null,
        null,
        this.backtrace(false),
      );
    } else {
      this.emit(S_TCP_D, M, `Incoming connection from ${s.remote} at ${LOCAL_ADDR}`);
    }
    this.step();
    this.rearm(l, M);
    const inc = tr
      ? mkCtx([
          {
            name: 'new_incoming_connection',
            fields: [
              ['remote_addr', s.remote],
              ['id', s.connId],
            ],
          },
        ])
      : null;
    for (const proto of ['/noise', '/yamux/1.0.0']) {
      if (tr) this.emit(S_MSS_L_T, this.WORKERS[0], 'Listener: confirming protocol', inc, [['protocol', proto]]);
      else this.emit(S_MSS_L, M, `Listener: confirming protocol: ${proto}`);
      this.step();
      if (proto === '/noise') {
        for (const n of [32, 80, 16]) {
          this.emit(tr ? S_NOISE_F_T : S_NOISE_F, tr ? this.WORKERS[0] : M, `read: frame len = ${n}`, inc);
          this.stepSmall();
        }
      }
      if (!tr) {
        this.emit(S_UPG, M, 'Successfully applied negotiated protocol');
        this.step();
      }
    }
    this.emit(S_YMX_D, tr ? this.WORKERS[0] : M, `new connection: ${s.cid} (Server)`, inc);
    this.step();
    const endpoint = `Listener { local_addr: "${LOCAL_ADDR}", send_back_addr: "${s.remote}" }`;
    if (tr) {
      this.emit(S_SW_T_DBG, M, 'Connection established', CTX_SWARM, [
        ['peer', s.peer],
        ['endpoint', endpoint],
        ['total_peers', conns.length + 1],
      ]);
    } else {
      this.emit(
        S_SW_DBG,
        M,
        (this.fam === 'v6' ? 'Listener: ' : '') +
          `Connection established: PeerId("${s.peer}") ${endpoint}; Total (peer): 1. Total non-banned (peer): 1`,
      );
    }
    this.step();
    this.rearm(s, M);
    return [
      `Unknown event: ConnectionEstablished { peer_id: PeerId("${s.peer}"), endpoint: ${endpoint}, num_established: 1, concurrent_dial_errors: None }`,
    ];
  }

  private closeConn(s: Src, hup: boolean): void {
    const M = this.MAIN;
    const tr = this.fam === 'tr';
    const mux = this.connCtx(s, true);
    this.emit(S_YMX_D, tr ? this.pick(this.WORKERS) : M, `${s.cid}: socket eof`, mux);
    this.step();
    this.emit(S_YMX_D, tr ? this.pick(this.WORKERS) : M, `${s.cid}: connection is closed`, mux);
    this.step();
    if (hup && this.chance(0.5)) {
      if (tr) {
        this.emit(S_APP_T_WARN, M, `connection error peer=${s.peer} backtrace:`, CTX_NONE, null, this.backtrace(true));
      } else {
        this.emit(S_NOISE_HS, M, 'wink: async recv error UnexpectedEof');
        this.step();
        this.emit(S_NOISE_HS, M, 'wink backtrace:', null, null, this.backtrace(true));
      }
      this.step();
    }
    const endpoint = `Listener { local_addr: "${LOCAL_ADDR}", send_back_addr: "${s.remote}" }`;
    if (tr)
      this.emit(S_SW_T_DBG, M, 'Connection closed', CTX_SWARM, [
        ['peer', s.peer],
        ['endpoint', endpoint],
        ['total_peers', this.slab.filter((x) => x?.kind === 'conn').length - 1],
      ]);
    else
      this.emit(
        S_SW_DBG,
        M,
        (this.fam === 'v6' ? 'Listener: ' : '') + `Connection closed: ${endpoint}; Total (peer): 0.`,
      );
    this.step();
    this.removeSource(s, M);
  }

  private backtrace(full: boolean): string[] {
    const n = full ? BACKTRACE_FRAMES.length / 2 : 4;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      out.push(`${String(i).padStart(4)}: ${BACKTRACE_FRAMES[2 * i]}`);
      out.push(`             at ${BACKTRACE_FRAMES[2 * i + 1]}`);
    }
    return out;
  }

  private netlinkNoise(tid: number): void {
    const n = this.ri(1, 4);
    const msgs: [Site, string][] = [
      [S_NL_C, 'reading incoming messages'],
      [S_NL_K, 'NetlinkCodec: decoding next message'],
      [S_NL_C, 'forwarding unsolicited messages to the connection handle'],
      [S_NL_C, 'handling requests'],
      [S_NL_C, 'sending messages'],
    ];
    for (let i = 0; i < n; i++) {
      const [s, m] = i === 0 ? msgs[0] : this.pick(msgs);
      this.emit(s, tid, m, CTX_NONE, null, null, this.chance(0.1) ? this.ri(1 * US, 20 * US) : 0);
      this.step();
    }
  }

  /** A Prometheus scrape of the relay's metrics endpoint (hyper). */
  private hyperScrape(tid: number): void {
    const bytes = this.ri(90, 430);
    if (this.fam === 'tr') {
      this.emit(S_HY_CONN_T, tid, 'Conn::read_head');
      this.step();
      this.emit(S_HY_IO_T, tid, `read ${bytes} bytes`);
      this.step();
      this.emit(S_HY_ROLE_T, tid, 'Request.parse', CTX_HYPER, [['bytes', bytes]]);
      this.step();
      this.emit(S_HY_IO_T, tid, 'parsed 5 headers');
      this.step();
      this.emit(S_HY_IO_T, tid, `flushed ${this.ri(2000, 9000)} bytes`);
      this.step();
      return;
    }
    // tracing → log bridge: env_logger ≥0.9 shows tracing::span(::active) targets and `;` (tracing ≥0.1.36)
    const semi = this.env === 'e2-module' ? '' : ';';
    this.emit(S_HY_CONN, tid, 'Conn::read_head');
    this.step();
    this.emit(S_HY_IO, tid, `read ${bytes} bytes`);
    this.step();
    this.emit(S_HY_ROLE, tid, 'parse_headers');
    this.step();
    this.emit(S_HY_ACTIVE, tid, `-> parse_headers${semi}`);
    this.step();
    this.emit(S_HY_ROLE, tid, `Request.parse([Header; 100], [u8; ${bytes}])`);
    this.step();
    this.emit(S_HY_ROLE, tid, `Request.parse Complete(${bytes})`);
    this.step();
    this.emit(S_HY_ACTIVE, tid, `<- parse_headers${semi}`);
    this.step();
    this.emit(S_HY_SPAN, tid, `-- parse_headers${semi}`);
    this.step();
    this.emit(S_HY_IO, tid, 'parsed 5 headers');
    this.step();
    this.emit(S_HY_CONN, tid, 'flushed({role=server}): State { reading: Init, writing: Init, keep_alive: Busy }');
    this.step();
  }
}

/**
 * Writes a synthetic relay log of about `opts.lines` physical lines through `write` (chunks of
 * ~1 MiB) and returns what was generated. Deterministic for a given (envelope, lines, seed, startSec).
 */
export function generateLog(opts: GenerateOptions, write: (chunk: string) => void): GenerateStats {
  if (!ENVELOPE_IDS.includes(opts.envelope)) throw new Error(`unknown envelope '${opts.envelope}'`);
  if (isLibp2pEnvelope(opts.envelope)) return generateLibp2pLog({ ...opts, envelope: opts.envelope }, write);
  return new Generator(opts, write).run();
}

/** Generates straight into a file (synchronous writes, constant memory). */
export function generateLogFile(file: string, opts: GenerateOptions): GenerateStats {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const fd = openSync(file, 'w');
  try {
    return generateLog(opts, (chunk) => {
      writeSync(fd, chunk);
    });
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// CLI

const USAGE = `Usage: node dist/bench/generate.js --envelope ID --lines N --out FILE [--seed N] [--start-sec N] [--stats FILE]
Envelopes: ${ENVELOPE_IDS.join(', ')}
Prints the generation stats as JSON on stdout (and into --stats FILE when given).`;

function main(argv: string[]): number {
  const values = parseBenchFlags(
    argv,
    {
      envelope: { type: 'string' },
      lines: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      'start-sec': { type: 'string' },
      stats: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (typeof values === 'number') return values;
  const envelope = values.envelope as EnvelopeId | undefined;
  const lines = Number(values.lines);
  if (!envelope || !ENVELOPE_IDS.includes(envelope) || !Number.isInteger(lines) || lines < 1 || !values.out) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  const seed = values.seed !== undefined ? Number(values.seed) : undefined;
  const startSec = values['start-sec'] !== undefined ? Number(values['start-sec']) : undefined;
  const t0 = process.hrtime.bigint();
  const stats = generateLogFile(values.out, { envelope, lines, seed, startSec });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const json = JSON.stringify(stats, null, 2);
  if (values.stats) writeFileSync(values.stats, json + '\n');
  process.stdout.write(json + '\n');
  process.stderr.write(
    `generated ${stats.lines} lines, ${(stats.bytes / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(2)} s ` +
      `(${Math.round(stats.lines / (ms / 1000)).toLocaleString('en-US')} lines/s)\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
