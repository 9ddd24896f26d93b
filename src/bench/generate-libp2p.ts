/**
 * Bench envelopes in the shape a rust-libp2p 0.53–0.56 relay on tokio writes with tracing-subscriber
 * and `FmtSpan::CLOSE` (copied from test/real-relay-tokio/fixtures/stalls.{full,compact,json}.log):
 *
 * - `t5-libp2p-full`: `… DEBUG new_established_connection{remote_addr=… id=1 peer=…}:Connection::poll: libp2p_swarm::connection: close time.busy=8.89µs time.idle=290ns`
 * - `t5-libp2p-compact`: the span fields move to the end of the line, the names stay in the prefix.
 * - `t5-libp2p-json`: the span a line belongs to in `span`, its ancestors in `spans`.
 *
 * Per Swarm::poll cycle: a `Swarm::poll:Pool::poll` close, sometimes a connection's
 * `new_incoming_connection{…}` close followed by "Connection established", sometimes a
 * "Connection closed: Connected { … }", the `Swarm::poll` close; then `Connection::poll` /
 * `ConnectionHandler::poll` closes of some open connections with noise events (yamux,
 * multistream_select, libp2p_relay) inside them. Induced: slow `Connection::poll`s (5–20 ms busy,
 * everything else < 50 µs) and blocked `Swarm::poll`s (1.5 s busy), counted in the stats only when
 * their close line was written. Deterministic for a given (envelope, lines, seed, startSec).
 */
import { mulberry32, tracingTiming, zeroStats, type GenerateOptions, type GenerateStats } from './generate.js';

export type Libp2pEnvelopeId = 't5-libp2p-full' | 't5-libp2p-compact' | 't5-libp2p-json';
export const LIBP2P_ENVELOPE_IDS: readonly Libp2pEnvelopeId[] = [
  't5-libp2p-full',
  't5-libp2p-compact',
  't5-libp2p-json',
];

const US = 1_000;
const MS = 1_000_000;
const SEC = 1_000_000_000;
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const LOCAL_ADDR = '/ip4/0.0.0.0/tcp/4001';
const BLOCKED_NS = 1_500 * MS;

interface Conn {
  id: number;
  peer: string;
  addr: string;
  /** Full: `new_established_connection{remote_addr=… id=… peer=…}`. */
  fullPrefix: string;
  /** Compact: ` remote_addr=… id=… peer=…` appended to the line. */
  compactTail: string;
  /** JSON: the root span object. */
  jsonSpan: string;
  /** A `Connection::poll` close of it was written (counted in the stats from then on). */
  polled: boolean;
}

/** A noise event inside `Connection::poll` (target, message, fields as `k=v` pairs). */
const NOISE: readonly [string, string, string, string][] = [
  // [level, target, full message, json fields (after "message")]
  ['DEBUG', 'yamux::connection', 'new outbound stream stream=Stream 3/7', '"stream":"Stream 3/7"'],
  ['TRACE', 'yamux::connection::stream', 'consumed 512 bytes', ''],
  [
    'DEBUG',
    'multistream_select::listener_select',
    'Listener: confirming protocol: /libp2p/circuit/relay/0.2.0/hop',
    '',
  ],
  ['DEBUG', 'libp2p_relay::behaviour::handler', 'Accepted reservation request', ''],
];

class Libp2pGenerator {
  private readonly r: () => number;
  private now = 0;
  private readonly base: number;
  private cSec = -1;
  private cIso = '';
  private buf = '';
  private readonly limit: number;
  private readonly chunk: number;
  private readonly stats: GenerateStats;
  private readonly conns: Conn[] = [];
  private connSeq = 0;
  /** Established, not yet polled. */
  private readonly fresh: Conn[] = [];
  private readonly blockedAt: number[] = [];
  private readonly slowAt: number[] = [];
  private blockedIdx = 0;
  private slowIdx = 0;

  constructor(
    private readonly env: Libp2pEnvelopeId,
    opts: GenerateOptions,
    private readonly write: (chunk: string) => void,
  ) {
    const seed = opts.seed ?? 1;
    this.r = mulberry32(seed);
    this.base = opts.startSec ?? Date.parse('2026-05-04T09:00:00Z') / 1000;
    this.limit = Math.max(1, Math.floor(opts.lines));
    this.chunk = opts.chunkChars ?? 1 << 20;
    this.stats = zeroStats(opts.envelope, seed, true);
    // About one blocked Swarm::poll per 300k lines (at least 1) and one slow Connection::poll per 20k (at least 3).
    const nb = Math.max(1, Math.round(this.limit / 300_000));
    for (let i = 0; i < nb; i++) this.blockedAt.push(Math.floor((this.limit * (i + 0.5)) / nb));
    const ns = Math.max(3, Math.round(this.limit / 20_000));
    for (let i = 0; i < ns; i++) this.slowAt.push(Math.floor((this.limit * (i + 0.3)) / ns));
  }

  private ri(a: number, b: number): number {
    return a + Math.floor(this.r() * (b - a + 1));
  }
  private step(): void {
    this.now += 5 * US + Math.floor(this.r() * 40 * US);
  }
  private get full(): boolean {
    return this.stats.lines >= this.limit;
  }

  private stamp(): string {
    const whole = Math.floor(this.now / SEC);
    if (whole !== this.cSec) {
      this.cSec = whole;
      this.cIso = new Date((this.base + whole) * 1000).toISOString().slice(0, 19);
    }
    const us = Math.floor((this.now - whole * SEC) / US);
    return this.cIso + '.' + String(us).padStart(6, '0') + 'Z';
  }

  private line(s: string): boolean {
    if (this.full) return false;
    if (this.stats.lines === 0) this.stats.firstTime = this.base + this.now / SEC;
    this.stats.lastTime = this.base + this.now / SEC;
    this.stats.lines++;
    this.stats.records++;
    this.stats.bytes += Buffer.byteLength(s);
    this.buf += s;
    if (this.buf.length >= this.chunk) this.flush();
    return true;
  }
  private flush(): void {
    if (this.buf.length > 0) this.write(this.buf);
    this.buf = '';
  }

  /**
   * One span close line. `names` is the span path (root first); `conn` the connection whose root
   * span heads it (its fields in the prefix, or at the end for Compact, or in `spans` for JSON).
   */
  private close(
    level: string,
    target: string,
    names: readonly string[],
    conn: Conn | null,
    busyNs: number,
    idleNs: number,
  ): boolean {
    const busy = tracingTiming(busyNs);
    const idle = tracingTiming(idleNs);
    const ts = this.stamp();
    switch (this.env) {
      case 't5-libp2p-full': {
        const prefix = conn
          ? conn.fullPrefix + (names.length > 1 ? ':' + names.slice(1).join(':') : '')
          : names.join(':');
        return this.line(`${ts} ${level} ${prefix}: ${target}: close time.busy=${busy} time.idle=${idle}\n`);
      }
      case 't5-libp2p-compact':
        return this.line(
          `${ts} ${level} ${names.join(':')}: ${target}: close time.busy=${busy} time.idle=${idle}${conn ? conn.compactTail : ''}\n`,
        );
      case 't5-libp2p-json': {
        // The closing span is `span`; `spans` holds its ancestors only.
        const own = names.length === 1 && conn ? conn.jsonSpan : `{"name":"${names[names.length - 1]}"}`;
        const anc: string[] = [];
        for (let i = 0; i < names.length - 1; i++) anc.push(i === 0 && conn ? conn.jsonSpan : `{"name":"${names[i]}"}`);
        return this.line(
          `{"timestamp":"${ts}","level":"${level}","fields":{"message":"close","time.busy":"${busy}","time.idle":"${idle}"},"target":"${target}","span":${own},"spans":[${anc.join(',')}]}\n`,
        );
      }
    }
  }

  /** An event inside `Swarm::poll` (target libp2p_swarm) or inside a connection's Connection::poll. */
  private event(
    level: string,
    target: string,
    msg: string,
    fullFields: string,
    jsonFields: string,
    conn: Conn | null,
  ): boolean {
    const ts = this.stamp();
    switch (this.env) {
      case 't5-libp2p-full': {
        const prefix = conn ? conn.fullPrefix + ':Connection::poll' : 'Swarm::poll';
        return this.line(`${ts} ${level} ${prefix}: ${target}: ${msg}${fullFields ? ' ' + fullFields : ''}\n`);
      }
      case 't5-libp2p-compact': {
        const prefix = conn ? 'new_established_connection:Connection::poll' : 'Swarm::poll';
        return this.line(
          `${ts} ${level} ${prefix}: ${target}: ${msg}${fullFields ? ' ' + fullFields : ''}${conn ? conn.compactTail : ''}\n`,
        );
      }
      case 't5-libp2p-json': {
        const span = conn ? '{"name":"Connection::poll"}' : '{"name":"Swarm::poll"}';
        const spans = conn ? `[${conn.jsonSpan},{"name":"Connection::poll"}]` : '[{"name":"Swarm::poll"}]';
        return this.line(
          `{"timestamp":"${ts}","level":"${level}","fields":{"message":"${msg.replace(/"/g, '\\"')}"${jsonFields ? ',' + jsonFields : ''}},"target":"${target}","span":${span},"spans":${spans}}\n`,
        );
      }
    }
  }

  private newConn(): Conn {
    const id = ++this.connSeq;
    let peer = '12D3KooW';
    for (let k = 0; k < 44; k++) peer += B58[Math.floor(this.r() * 58)];
    const addr = `/ip4/${this.ri(2, 223)}.${this.ri(0, 255)}.${this.ri(0, 255)}.${this.ri(1, 254)}/tcp/${this.ri(1024, 65535)}`;
    return {
      id,
      peer,
      addr,
      fullPrefix: `new_established_connection{remote_addr=${addr} id=${id} peer=${peer}}`,
      compactTail: ` remote_addr=${addr} id=${id} peer=${peer}`,
      jsonSpan: `{"id":"${id}","peer":"${peer}","remote_addr":"${addr}","name":"new_established_connection"}`,
      polled: false,
    };
  }

  private endpoint(c: Conn): string {
    return `Listener { local_addr: ${LOCAL_ADDR}, send_back_addr: ${c.addr} }`;
  }

  /** Connection established: the incoming span closes, then the swarm's event. */
  private establish(): void {
    const c = this.newConn();
    const id = String(c.id);
    let ok: boolean;
    switch (this.env) {
      case 't5-libp2p-full':
        ok = this.line(
          `${this.stamp()} DEBUG new_incoming_connection{remote_addr=${c.addr} id=${id}}: libp2p_swarm::connection::pool: close time.busy=${tracingTiming(this.ri(30, 45) * US)} time.idle=${tracingTiming(this.ri(10, 140) * US)}\n`,
        );
        break;
      case 't5-libp2p-compact':
        ok = this.line(
          `${this.stamp()} DEBUG new_incoming_connection: libp2p_swarm::connection::pool: close time.busy=${tracingTiming(this.ri(30, 45) * US)} time.idle=${tracingTiming(this.ri(10, 140) * US)} remote_addr=${c.addr} id=${id}\n`,
        );
        break;
      case 't5-libp2p-json':
        ok = this.line(
          `{"timestamp":"${this.stamp()}","level":"DEBUG","fields":{"message":"close","time.busy":"${tracingTiming(this.ri(30, 45) * US)}","time.idle":"${tracingTiming(this.ri(10, 140) * US)}"},"target":"libp2p_swarm::connection::pool","span":{"id":"${id}","remote_addr":"${c.addr}","name":"new_incoming_connection"},"spans":[]}\n`,
        );
        break;
    }
    if (!ok) return;
    this.step();
    const total = this.conns.length + 1;
    const endpoint = this.endpoint(c);
    if (
      this.event(
        'DEBUG',
        'libp2p_swarm',
        'Connection established',
        `peer=${c.peer} endpoint=${endpoint} total_peers=${total}`,
        `"peer":"${c.peer}","endpoint":"${endpoint}","total_peers":"${total}"`,
        null,
      )
    ) {
      this.conns.push(c);
      this.fresh.push(c);
    }
    this.step();
  }

  private closeConn(): void {
    const i = this.ri(0, this.conns.length - 1);
    const c = this.conns[i];
    if (!c.polled) return; // a connection is closed only after one of its polls
    const total = this.conns.length - 1;
    const msg = `Connection closed: Connected { endpoint: ${this.endpoint(c)}, peer_id: PeerId("${c.peer}") }`;
    if (this.event('DEBUG', 'libp2p_swarm', msg, `total_peers=${total}`, `"total_peers":"${total}"`, null)) {
      this.conns.splice(i, 1);
      this.stats.connectionsClosed!++;
    }
    this.step();
  }

  private swarmCycle(): void {
    const blocked = this.blockedIdx < this.blockedAt.length && this.stats.lines >= this.blockedAt[this.blockedIdx];
    this.close(
      'DEBUG',
      'libp2p_swarm::connection::pool',
      ['Swarm::poll', 'Pool::poll'],
      null,
      this.ri(1, 8) * US,
      this.ri(200, 900),
    );
    this.step();
    if (this.conns.length < 3 || (this.conns.length < 40 && this.r() < 0.3)) this.establish();
    if (this.conns.length > 20 && this.r() < 0.2) this.closeConn();
    let busy = this.ri(10, 45) * US + this.ri(0, 999);
    if (blocked) {
      this.blockedIdx++;
      busy = BLOCKED_NS;
      this.now += BLOCKED_NS;
    }
    if (this.close('DEBUG', 'libp2p_swarm', ['Swarm::poll'], null, busy, this.ri(250, 1900))) {
      this.stats.pollCycles++;
      if (blocked) this.stats.stalls.blocked_poll++;
    }
    this.step();
  }

  private connectionPolls(): void {
    const n = Math.min(this.conns.length, this.ri(2, 8));
    for (let k = 0; k < n; k++) {
      // a new connection is polled first: the model knows a connection from its span lines
      const c = this.fresh.length > 0 ? this.fresh.shift()! : this.conns[this.ri(0, this.conns.length - 1)];
      const slow = this.slowIdx < this.slowAt.length && this.stats.lines >= this.slowAt[this.slowIdx];
      if (this.r() < 0.4) {
        const [lv, target, msg, jf] = NOISE[this.ri(0, NOISE.length - 1)];
        this.event(lv, target, msg, '', jf, c);
        this.step();
      }
      const handlerBusy = slow ? this.ri(5, 20) * MS : this.ri(1, 20) * US + this.ri(0, 999);
      if (slow) {
        this.slowIdx++;
        this.now += handlerBusy;
      }
      this.close(
        'TRACE',
        'libp2p_relay::behaviour::handler',
        ['new_established_connection', 'Connection::poll', 'ConnectionHandler::poll'],
        c,
        handlerBusy,
        this.ri(200, 400),
      );
      this.stepSmall();
      const busy = handlerBusy + this.ri(3, 20) * US;
      if (
        this.close(
          'DEBUG',
          'libp2p_swarm::connection',
          ['new_established_connection', 'Connection::poll'],
          c,
          busy,
          this.ri(200, 400),
        )
      ) {
        if (slow) this.stats.slowConnectionPolls!++;
        if (!c.polled) {
          c.polled = true;
          this.stats.connectionsEstablished!++;
        }
      }
      this.step();
    }
  }
  private stepSmall(): void {
    this.now += 2 * US + Math.floor(this.r() * 10 * US);
  }

  run(): GenerateStats {
    while (!this.full) {
      this.swarmCycle();
      this.connectionPolls();
      if (this.r() < 0.05) this.now += this.ri(1, 50) * MS; // idle gaps between bursts
    }
    this.flush();
    return this.stats;
  }
}

export function isLibp2pEnvelope(id: string): id is Libp2pEnvelopeId {
  return (LIBP2P_ENVELOPE_IDS as readonly string[]).includes(id);
}

export function generateLibp2pLog(
  opts: GenerateOptions & { envelope: Libp2pEnvelopeId },
  write: (chunk: string) => void,
): GenerateStats {
  return new Libp2pGenerator(opts.envelope, opts, write).run();
}
