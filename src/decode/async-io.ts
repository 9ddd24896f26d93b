/**
 * async-io's reactor and driver, log-formats.md 5.5–5.6, targets `async_io::driver` and
 * `async_io::reactor` (before 1.1.4 `main_loop`/`block_on` logged under `async_io::reactor`, so
 * both targets accept every message):
 * - 1.x (`log`): `process_timers: N ready wakers`, `react: N ready wakers`, `main_loop: …`, `block_on…`;
 * - 2.x (`tracing`): the same without prefixes, the context in the spans
 *   (`async_io::main_loop:react:process_timers` → `N ready wakers` is a process_timers);
 * - the winksaville fork (Add-debug-v1..v15): ~90 added lines, recognised by prefix; the upstream
 *   ones renamed `Reactor::process_timers: N ready wakers` (debug) and `ReactorLock::react: …`.
 *
 * Fork react end, decided here: the wakers count is in a debug line (`ReactLock::react: N wake up
 * ready wakers` in the v4-era source, `ReactorLock::react: wake up N ready wakers` in v14, the v2
 * rename `ReactorLock::react: N ready wakers`), logged before the wakers run like upstream's
 * `react:`; it gives react_done. `ReactorLock::react:- [tid=N ]res=…` gives react_done only when no
 * count line was seen since `ReactorLock::react:+` (debug filtered out): wakers null (unknown).
 */
import type { Decoder, ReactorEventSink } from './events.js';
import type { LogRecord } from '../parse/record.js';
import { innermostSpanStart, intAt, scan, spanNameIs, textAt } from './fields.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_COLON = 58,
  C_MINUS = 45,
  C_PLUS = 43,
  C_R = 82,
  C_S = 83,
  C_b = 98,
  C_c = 99,
  C_m = 109,
  C_n = 110,
  C_o = 111,
  C_p = 112,
  C_r = 114,
  C_s = 115,
  C_w = 119;

export class AsyncIoDecoder implements Decoder {
  readonly name = 'async-io';
  readonly targets: readonly string[] = ['async_io::driver', 'async_io::reactor'];

  /** A fork react count line was seen since the last `ReactorLock::react:+`. */
  private reactCounted = false;

  decode(rec: LogRecord, sink: ReactorEventSink): boolean {
    const m = rec.message;
    // Prefixes by indexOf at a position (textAt, same answer at positions ≥ 0): on a sliced string
    // startsWith costs more.
    const c0 = m.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) return this.readyWakers(m, rec, sink);
    switch (c0) {
      case C_p:
        if (textAt(m, 0, 'process_timers: ')) return this.count(m, 16, 'timers_processed', rec, sink);
        return false;
      case C_r:
        if (textAt(m, 0, 'react: ')) return this.count(m, 7, 'react_done', rec, sink);
        // 1.x `readable: fd=5` / `readable_owned: …`; 2.x `readable fd=5`; fork `readable: raw fd=5`
        return m.startsWith('readable');
      case C_w:
        if (m.startsWith('waiting on I/O')) return this.runner2x(rec, sink);
        return m.startsWith('writable');
      case C_m:
        if (textAt(m, 0, 'main_loop')) {
          // 1.x `main_loop: waiting on I/O`; fork v5+ `… have the lock, call reactor_lock.react(timeout: None)`
          // (its `… retf reactor_lock.react` twin is the end of that react: no second event)
          if (textAt(m, 0, 'main_loop: waiting on I/O') && (m.length === 25 || textAt(m, 25, ' have the lock, call'))) {
            sink.event({ kind: 'io_runner', runner: 'main_loop' }, rec);
          }
          return true;
        }
        return false;
      case C_b:
        if (m.startsWith('block_on')) {
          if (m.startsWith('block_on: waiting on I/O')) sink.event({ kind: 'io_runner', runner: 'block_on' }, rec);
          return true;
        }
        return false;
      case C_R:
        if (m.startsWith('Reactor::')) {
          // fork v2+: the renamed upstream `process_timers: N ready wakers` (debug)
          // (its `Reactor::process_timers: wakers.len=…` steps do not match the count shape)
          if (m.startsWith('Reactor::process_timers: ')) this.count(m, 25, 'timers_processed', rec, sink);
          return true;
        }
        if (m.startsWith('ReactorLock::react') || m.startsWith('ReactLock::react')) return this.forkReact(m, rec, sink);
        if (m.startsWith('Ready::Future::poll')) return true;
        return false;
      case C_S:
        return m.startsWith('Source::');
      case C_n: // 2.x `notified`
        return m === 'notified';
      case C_s: // 2.x `sleeping for N us`, `sleep until notification`, `stops hogging the reactor`
        return (
          m.startsWith('sleeping for ') || m.startsWith('sleep until notification') || m.startsWith('stops hogging')
        );
      case C_c: // 2.x `completed`
        return m === 'completed';
      default:
        return false;
    }
  }

  /** `process_timers: N ready wakers` / `react: N ready wakers` (1.x). */
  private count(
    m: string,
    pos: number,
    kind: 'timers_processed' | 'react_done',
    rec: LogRecord,
    sink: ReactorEventSink,
  ): boolean {
    const n = intAt(m, pos);
    if (Number.isNaN(n) || !textAt(m, scan.end, ' ready wakers')) return false;
    sink.event({ kind, wakers: n }, rec);
    return true;
  }

  /** 2.x `N ready wakers`: a process_timers or a react by its innermost span. */
  private readyWakers(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const n = intAt(m, 0);
    if (!textAt(m, scan.end, ' ready wakers')) return false;
    const spans = rec.spans;
    const s = innermostSpanStart(spans);
    if (spanNameIs(spans, s, 'process_timers')) sink.event({ kind: 'timers_processed', wakers: n }, rec);
    else if (spanNameIs(spans, s, 'react')) sink.event({ kind: 'react_done', wakers: n }, rec);
    return true;
  }

  /** 2.x `waiting on I/O`: whose is the wait, by the enclosing driver span. */
  private runner2x(rec: LogRecord, sink: ReactorEventSink): boolean {
    const spans = rec.spans;
    const b = spans.lastIndexOf('block_on');
    const l = spans.lastIndexOf('main_loop');
    if (b > l) sink.event({ kind: 'io_runner', runner: 'block_on' }, rec);
    else if (l >= 0) sink.event({ kind: 'io_runner', runner: 'main_loop' }, rec);
    return true;
  }

  private forkReact(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const p = m.charCodeAt(5) === C_o /* ReactorLock */ ? 18 : 16;
    const c = m.charCodeAt(p);
    if (c === C_COLON) {
      const sign = m.charCodeAt(p + 1);
      if (sign === C_PLUS) {
        this.reactCounted = false;
        return true;
      }
      if (sign === C_MINUS) {
        if (!this.reactCounted && m.indexOf('res=', p) >= 0) sink.event({ kind: 'react_done', wakers: null }, rec);
        this.reactCounted = false;
        return true;
      }
      // `ReactorLock::react: …`: find a wakers count
      let q = p + 2;
      if (m.startsWith('wake up ', q)) q += 8;
      const n = intAt(m, q);
      if (!Number.isNaN(n)) {
        const e = scan.end;
        if (m.startsWith(' ready wakers', e) || m.startsWith(' wake up ready wakers', e)) {
          this.reactCounted = true;
          sink.event({ kind: 'react_done', wakers: n }, rec);
        }
      }
    }
    return true;
  }
}
