/**
 * Swarm poll cycles, target `libp2p_swarm` (log-formats.md 5.7, 5.8, 6.7):
 * - winksaville/rust-libp2p fork (7f0e16c3..45daf8e0): `Swarm<TBehavior>::Stream::poll_next:+[ tid=N]`
 *   and `…poll_next:- result.is_ready(): b` (..39782a25) / `:- tid=N res.is_ready(): b`
 *   (283932f4..58846ab0) / `:- res.is_ready(): b` (eaba2e85..); its other `Swarm<TBehavior>::…`
 *   and `Listener:…` lines are recognised without events (they nest inside a cycle);
 * - upstream libp2p ≥0.53 (`tracing`): FmtSpan lifecycle events of the debug span `Swarm::poll`.
 * Upstream's own `libp2p_swarm` debug lines (`Listener {:?}; …`, `Connection established …`) are
 * left to the caller as ignored.
 *
 * Double counting, decided here: with FmtSpan::FULL one poll logs new, enter, exit and close.
 * `new` starts a cycle; `enter` starts one only while no `new` was ever seen (FmtSpan is one
 * subscriber-wide setting, so NEW shows for every span or none). `exit` ends the cycle until a
 * `close` has been seen once; from then on close carries the end (with time.busy/time.idle) and
 * exit adds nothing. A close right after an exit that already ended the cycle (the first cycle
 * under FULL) adds nothing either: tracked per thread.
 */
import type { Decoder, ReactorEvent, ReactorEventSink, SpanPhase } from './events.js';
import type { LogRecord } from '../parse/record.js';
import {
  boolAt,
  endsWithSpan,
  innermostSpanStart,
  isWordMessage,
  spanNameIs,
  tidAt,
  spanTimingInto,
  textAt,
} from './fields.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_L = 76,
  C_COLON = 58,
  C_MINUS = 45,
  C_PLUS = 43,
  C_S = 83,
  C_c = 99,
  C_e = 101,
  C_n = 110;

const FORK_PREFIX = 'Swarm<TBehavior>::';
const POLL_NEXT = 'Stream::poll_next:';

type PollEnd = Extract<ReactorEvent, { kind: 'poll_end' }>;

export class SwarmDecoder implements Decoder {
  readonly name = 'swarm';
  readonly targets: readonly string[] = ['libp2p_swarm'];

  private sawNew = false;
  private sawClose = false;
  /** Threads whose cycle an `exit` ended since their last `close`. */
  private readonly exitEnded = new Set<string>();

  decode(rec: LogRecord, sink: ReactorEventSink): boolean {
    const m = rec.message;
    switch (m.charCodeAt(0)) {
      // (indexOf at a position, textAt, is cheaper than startsWith on a sliced string; a char
      // compared first keeps it off the lines that cannot match)
      case C_S:
        if (!textAt(m, 0, FORK_PREFIX)) return false;
        if (m.charCodeAt(18) === C_S && textAt(m, 18, POLL_NEXT)) return this.pollNext(m, rec, sink);
        return true; // `Swarm<TBehavior>::poll_next_event:±` and the like
      case C_L: // fork `Listener:+`, `Listener:- …`, `Listener: …` (upstream writes `Listener {:?}; …`)
        // (the listeners' `ListenerStream<TTrans>::poll:±`, whose target reaches this decoder, not)
        return m.charCodeAt(8) === C_COLON && m.startsWith('Listener:');
      case C_n:
        if (isWordMessage(m, 'new')) return this.lifecycle('new', m, rec, sink);
        return false;
      case C_e:
        if (isWordMessage(m, 'enter')) return this.lifecycle('enter', m, rec, sink);
        if (isWordMessage(m, 'exit')) return this.lifecycle('exit', m, rec, sink);
        return false;
      case C_c:
        if (isWordMessage(m, 'close')) return this.lifecycle('close', m, rec, sink);
        return false;
      default:
        return false;
    }
  }

  private pollNext(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const p = 18 + POLL_NEXT.length;
    const sign = m.charCodeAt(p);
    if (sign === C_PLUS) {
      const tid = m.charCodeAt(p + 1) === 32 ? tidAt(m, p + 2) : undefined;
      sink.event(tid === undefined ? { kind: 'poll_start' } : { kind: 'poll_start', tid }, rec);
      return true;
    }
    if (sign !== C_MINUS) return false;
    const tid = m.charCodeAt(p + 1) === 32 ? tidAt(m, p + 2) : undefined;
    // `result.is_ready(): b` / `res.is_ready(): b`
    const r = m.indexOf('is_ready(): ', p);
    const ready = r < 0 ? undefined : boolAt(m, r + 12);
    const ev: PollEnd = { kind: 'poll_end', ready: ready === undefined ? null : ready };
    if (tid !== undefined) ev.tid = tid;
    sink.event(ev, rec);
    return true;
  }

  /** FmtSpan lifecycle line `phase` of span `Swarm::poll`, if that is the innermost span. */
  private lifecycle(phase: SpanPhase, m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const spans = rec.spans;
    if (!endsWithSpan(spans, 'Swarm::poll') && !spanNameIs(spans, innermostSpanStart(spans), 'Swarm::poll'))
      return false;
    const thread = rec.thread;
    switch (phase) {
      case 'new':
        this.sawNew = true;
        sink.event({ kind: 'poll_start' }, rec);
        break;
      case 'enter':
        if (!this.sawNew) sink.event({ kind: 'poll_start' }, rec);
        break;
      case 'exit':
        if (!this.sawClose) {
          this.exitEnded.add(thread);
          sink.event({ kind: 'poll_end', ready: null }, rec);
        }
        break;
      case 'close': {
        this.sawClose = true;
        if (this.exitEnded.delete(thread)) break;
        const ev: PollEnd = { kind: 'poll_end', ready: null };
        spanTimingInto(m, ev);
        sink.event(ev, rec);
      }
    }
    return true;
  }
}
