/**
 * The winksaville/polling debug fork (branch `Add-debug`, tags Add-debug-v1..v6, 2022-04-16..05-02),
 * log-formats.md 5.4: `X:+`/`X:-` entry/exit lines whose fields, number base and `tid=` change
 * commit by commit. Target `polling::epoll`. The fork's upstream-style lines (`modify:`,
 * `remove:`, `new:`, `drop:`, `add:` of its first commits) and the unchanged `polling` target lines
 * are read by Polling2Decoder.
 *
 * Number bases: epoll `events` masks are always hex; `u64`/`key` are decimal up to e1c433b
 * (`libc::epoll_event { events=4000201b u64=18446744073709551615 }`, `{ events: 1 u64: 0 }` after
 * `libc::epoll_event`) and hex from v1 (`{ events: 4000201b u64: ffffffffffffffff }`, gotcha 4);
 * `flags=` (6e02a65..ed3b246) is decimal. A `tid=N` in the message goes to the event's `tid`.
 */
import type { Decoder, ReactorEvent, ReactorEventSink } from './events.js';
import type { LogRecord } from '../parse/record.js';
import {
  decimalKeyAt,
  eventAt,
  evScratch,
  fieldStart,
  hexAt,
  hexKeyAt,
  intAt,
  intField,
  isDigitCode,
  optionDurationAt,
  optionFdAt,
  scan,
  skipSpaces,
  textAt,
  tidAt,
  timeoutOrUnknown,
} from './fields.js';
import { addModifyAt, ctlAt, fast, listAt, waitEndAt, waitStartAt, wakeAt } from './polling-fork-fast.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_MINUS = 45,
  C_PLUS = 43,
  C_SPACE = 32,
  C_COLON = 58,
  C_a = 97,
  C_b = 98,
  C_c = 99,
  C_d = 100,
  C_f = 102,
  C_i = 105,
  C_l = 108,
  C_m = 109,
  C_n = 110,
  C_o = 111,
  C_r = 114,
  C_t = 116,
  C_w = 119,
  C_y = 121;

type Interest = Extract<ReactorEvent, { kind: 'interest' }>;

export class PollingForkDecoder implements Decoder {
  readonly name = 'polling-fork';
  readonly targets: readonly string[] = ['polling::epoll'];

  decode(rec: LogRecord, sink: ReactorEventSink): boolean {
    const m = rec.message;
    // The frequent prefixes (`wait:`, `ctl:±`, `modify:±`, half of a fork log) compared char by
    // char: inlined, where each startsWith is a native call (~20 ns).
    switch (m.charCodeAt(0)) {
      case C_w:
        if (
          m.charCodeAt(1) === C_a &&
          m.charCodeAt(2) === C_i &&
          m.charCodeAt(3) === C_t &&
          m.charCodeAt(4) === C_COLON
        )
          return this.wait(m, rec, sink);
        return false;
      case C_c:
        if (m.charCodeAt(1) !== C_t || m.charCodeAt(2) !== C_l || m.charCodeAt(3) !== C_COLON) return false;
        if (m.charCodeAt(4) === C_PLUS) return this.ctl(m, rec, sink);
        return m.charCodeAt(4) === C_MINUS;
      case C_a:
        if (m.startsWith('add:+')) return this.addModify(m, 5, 'add', rec, sink);
        return m.startsWith('add:-');
      case C_m: {
        if (
          m.charCodeAt(1) !== C_o ||
          m.charCodeAt(2) !== C_d ||
          m.charCodeAt(3) !== C_i ||
          m.charCodeAt(4) !== C_f ||
          m.charCodeAt(5) !== C_y ||
          m.charCodeAt(6) !== C_COLON
        )
          return false;
        const sign = m.charCodeAt(7);
        if (sign === C_PLUS) return this.addModify(m, 8, 'modify', rec, sink);
        return sign === C_MINUS;
      }
      case C_d:
        if (m.startsWith('delete:+')) return this.delete(m, rec, sink);
        return m.startsWith('delete:-') || m.startsWith('drop:+') || m.startsWith('drop:-');
      case C_n:
        if (m.startsWith('new:+')) return this.newEntry(m, rec, sink);
        if (m.startsWith('new:-')) return this.newExit(m, rec, sink);
        if (m.startsWith('notify:+')) {
          const tid = tidAt(m, skipSpaces(m, 8));
          const fd = intField(m, 'epoll_fd=', scan.end);
          if (Number.isNaN(fd)) return false;
          sink.event(tid === undefined ? { kind: 'notify', fd } : { kind: 'notify', fd, tid }, rec);
          return true;
        }
        return m.startsWith('notify:-');
      case C_t: {
        // d87e128 `tid={:?} wait: backtrace\n…` (prints `tid=ThreadId(7)`), 7ae5a95 `tid={} wait: backtrace\n…`
        if (!m.startsWith('tid=')) return false;
        const w = m.indexOf(' wait: backtrace');
        return w > 0 && w < 32;
      }
      default:
        return false;
    }
  }

  private wait(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const c5 = m.charCodeAt(5);
    if (c5 === C_PLUS) return this.waitEntry(m, rec, sink);
    if (c5 === C_MINUS) return this.waitExit(m, rec, sink);
    if (c5 !== C_SPACE) return false;
    return this.waitStep(m, rec, sink);
  }

  /** `wait:+ epoll_fd=E, timeout=T` (6e02a65..7ae5a95, v5..v6) / `wait:+ tid=N epoll_fd=…` (5a30406..v4) */
  private waitEntry(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    let tid: string | undefined;
    let fd: number;
    let p: number;
    if (waitStartAt(m)) {
      tid = fast.tid;
      fd = fast.fd;
      p = fast.at;
    } else {
      tid = tidAt(m, skipSpaces(m, 6));
      fd = intField(m, 'epoll_fd=', scan.end);
      if (Number.isNaN(fd)) return false;
      p = fieldStart(m, 'timeout=', scan.end);
    }
    const timeoutNs = p < 0 ? undefined : timeoutOrUnknown(optionDurationAt(m, p));
    sink.event(
      tid === undefined
        ? { kind: 'wait_start', poller: 'epoll', fd, timeoutNs }
        : { kind: 'wait_start', poller: 'epoll', fd, timeoutNs, tid },
      rec,
    );
    return true;
  }

  /** `wait:- epoll_fd=E, res=R` (6e02a65..v2, v5..v6) / `wait:- tid=N epoll_fd=E, res=R` (v3..v4) */
  private waitExit(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    let tid: string | undefined;
    let fd: number;
    let r: number;
    if (waitEndAt(m)) {
      tid = fast.tid;
      fd = fast.fd;
      r = intAt(m, fast.at);
    } else {
      tid = tidAt(m, skipSpaces(m, 6));
      fd = intField(m, 'epoll_fd=', scan.end);
      if (Number.isNaN(fd)) return false;
      r = intField(m, 'res=', scan.end);
    }
    const res = Number.isNaN(r) ? null : r;
    sink.event(
      tid === undefined
        ? { kind: 'wait_end', poller: 'epoll', fd, res }
        : { kind: 'wait_end', poller: 'epoll', fd, res, tid },
      rec,
    );
    return true;
  }

  /** `wait: [tid=N ]…`; 2b9a283 writes `wait:  backtrace` with two spaces */
  private waitStep(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const tid = tidAt(m, skipSpaces(m, 6));
    const p = scan.end;
    switch (m.charCodeAt(p)) {
      case C_r:
        if (textAt(m, p, 'running ')) {
          // The wake: `wait: [tid=N ]running epoll_fd=E, events.len=R[ res=R][ events.list:]`
          let fd: number;
          let res: number;
          if (wakeAt(m, p)) {
            fd = fast.fd;
            res = fast.value;
          } else {
            fd = intField(m, 'epoll_fd=', p);
            res = intField(m, 'events.len=', scan.end);
          }
          if (Number.isNaN(fd) || Number.isNaN(res)) return false;
          sink.event(tid === undefined ? { kind: 'wait_wake', fd, res } : { kind: 'wait_wake', fd, res, tid }, rec);
          return true;
        }
        if (m.startsWith('retf modify to clear notification ', p)) return this.retf(m, p, rec, sink);
        return m.startsWith('re-register ', p);
      case C_w:
        if (textAt(m, p, 'waiting ')) {
          // Block start: `timeout_ms` -1 = block until an event (the timerfd carries the timeout) → null.
          const fd = intField(m, 'epoll_fd=', p);
          if (Number.isNaN(fd)) return false;
          const ms = intField(m, 'timeout_ms=', scan.end);
          const timeoutMs = Number.isNaN(ms) || ms < 0 ? null : ms;
          sink.event(
            tid === undefined ? { kind: 'wait_block', fd, timeoutMs } : { kind: 'wait_block', fd, timeoutMs, tid },
            rec,
          );
          return true;
        }
        return false;
      case C_l:
        if (textAt(m, p, 'list[')) return this.listEntry(m, p, rec, sink);
        return false;
      case C_c:
        return textAt(m, p, 'configure ') || m.startsWith('call modify to clear notification ', p);
      case C_b:
        return m.startsWith('backtrace', p);
      default:
        return false;
    }
  }

  /**
   * One returned event: `wait: list[0] libc::epoll_event { events: 1 u64: 0 } ` (decimal u64,
   * 9ae5e98..e1c433b) or `wait: list[1] { events: 1 u64: ffffffffffffffff }` (hex u64, v1..v6).
   * The line does not name the epoll_fd: fd null (the list follows its `wait: running`).
   */
  private listEntry(m: string, p: number, rec: LogRecord, sink: ReactorEventSink): boolean {
    const index = intAt(m, p + 5);
    if (Number.isNaN(index)) return false;
    const b = scan.end;
    if (isDigitCode(m.charCodeAt(p + 5)) && listAt(m, b)) {
      // (digits only up to `]`: the `]` the generic reading finds with indexOf)
      const key = fast.decimal ? decimalKeyAt(m, fast.at) : hexKeyAt(m, fast.at);
      if (Number.isNaN(key)) return false;
      sink.event({ kind: 'wait_ready', fd: null, index, flags: fast.flags, key }, rec);
      return true;
    }
    const e = fieldStart(m, 'events: ', b);
    if (e < 0) return false;
    const flags = hexAt(m, e);
    const u = fieldStart(m, 'u64: ', scan.end);
    if (Number.isNaN(flags) || u < 0) return false;
    const decimal = m.startsWith('libc::epoll_event', skipSpaces(m, m.indexOf(']', p) + 1));
    const key = decimal ? decimalKeyAt(m, u) : hexKeyAt(m, u);
    if (Number.isNaN(key)) return false;
    sink.event({ kind: 'wait_ready', fd: null, index, flags, key }, rec);
    return true;
  }

  /**
   * v4..v6 `wait: [tid=N ]retf modify to clear notification epoll_fd=E, res_rd=Ok(8) buf=[1, 0, …]`:
   * the eventfd read returned 8 bytes, a notification was pending; `res_rd=Err(… WouldBlock …)`: none.
   */
  private retf(m: string, p: number, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = intField(m, 'epoll_fd=', p);
    const r = fieldStart(m, 'res_rd=', scan.end);
    if (Number.isNaN(fd) || r < 0) return false;
    let pending: boolean;
    if (m.startsWith('Ok(', r)) pending = intAt(m, r + 3) > 0;
    else if (m.startsWith('Err(', r)) pending = false;
    else return false;
    sink.event({ kind: 'notify_drained', fd, pending }, rec);
    return true;
  }

  /**
   * `ctl:+ …`, every variant (table in 5.4). ≤v2 print `event_fd=` = the Poller's eventfd whatever
   * fd is changed, so targetFd is only known from a `fd=` field (v3+). The op is explicit from v6
   * (`ADD`/`MOD`/`DEL`); before, a shown mask means add-or-modify (reported as modify) and
   * `ev=None` or no mask at all (6e02a65..5a30406 `ctl:+ epoll_fd=E, event_fd=F`) a delete.
   */
  private ctl(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    if (ctlAt(m)) {
      const ev: Interest = {
        kind: 'interest',
        op: 'modify',
        fd: fast.fd,
        targetFd: null,
        key: fast.value,
        flags: fast.flags,
      };
      if (fast.tid !== undefined) ev.tid = fast.tid;
      sink.event(ev, rec);
      return true;
    }
    let p = skipSpaces(m, 5);
    const tid = tidAt(m, p);
    p = scan.end;
    let op: 'add' | 'modify' | 'delete' | undefined;
    if (m.startsWith('ADD ', p)) op = 'add';
    else if (m.startsWith('MOD ', p)) op = 'modify';
    else if (m.startsWith('DEL ', p)) op = 'delete';
    if (op !== undefined) p += 4;
    const fd = intField(m, 'epoll_fd=', p);
    if (Number.isNaN(fd)) return false;
    p = scan.end;
    const f = fieldStart(m, 'fd=', p);
    const target = f < 0 ? NaN : intAt(m, f);
    const targetFd = Number.isNaN(target) ? null : target;

    let flags = NaN;
    let key = NaN;
    let readable: boolean | undefined;
    let writable: boolean | undefined;
    let q: number;
    if ((q = fieldStart(m, 'flags=', p)) >= 0) {
      // 6e02a65..ed3b246: decimal `flags=1073750043`, then `key=K` (≤5a30406) or `ev=Event {…}` Debug
      flags = intAt(m, q);
      const k = fieldStart(m, 'key=', scan.end);
      if (k >= 0) key = decimalKeyAt(m, k);
      else {
        const e = fieldStart(m, 'ev=', scan.end);
        if (e >= 0 && eventAt(m, e)) {
          key = evScratch.key;
          readable = evScratch.readable;
          writable = evScratch.writable;
        }
      }
    } else if ((q = fieldStart(m, 'events=', p)) >= 0) {
      // 9ae5e98..e1c433b: `libc::epoll_event { events=4000201b u64=18446744073709551615 }`
      flags = hexAt(m, q);
      const k = fieldStart(m, 'u64=', scan.end);
      if (k >= 0) key = decimalKeyAt(m, k);
    } else if ((q = fieldStart(m, 'events: ', p)) >= 0) {
      // v1..v6 `{ events: 4000201b u64: ffffffffffffffff }` is hex; after `libc::epoll_event {` decimal
      const decimal = m.lastIndexOf('libc::epoll_event', q) >= p;
      flags = hexAt(m, q);
      const k = fieldStart(m, 'u64: ', scan.end);
      if (k >= 0) key = decimal ? decimalKeyAt(m, k) : hexKeyAt(m, k);
    }
    if (op === undefined) op = Number.isNaN(flags) ? 'delete' : 'modify';
    const ev: Interest = {
      kind: 'interest',
      op,
      fd,
      targetFd,
      key: Number.isNaN(key) ? null : key,
      flags: Number.isNaN(flags) ? null : flags,
    };
    if (readable !== undefined) {
      ev.readable = readable;
      ev.writable = writable;
    }
    if (tid !== undefined) ev.tid = tid;
    sink.event(ev, rec);
    return true;
  }

  /**
   * `add:+`/`modify:+ [tid=N ]epoll_fd=E, fd=F, ev=…`: Debug `Event { key: K, readable: b, writable: b }`
   * (decimal key, b314e91..e1c433b) or fork Display `Event { r: b w: b key: K } ` (hex key, v1..v5).
   */
  private addModify(m: string, pos: number, op: 'add' | 'modify', rec: LogRecord, sink: ReactorEventSink): boolean {
    let tid: string | undefined;
    let fd: number;
    let target: number;
    if (addModifyAt(m, pos)) {
      tid = fast.tid;
      fd = fast.fd;
      target = fast.value;
    } else {
      tid = tidAt(m, skipSpaces(m, pos));
      fd = intField(m, 'epoll_fd=', scan.end);
      if (Number.isNaN(fd)) return false;
      const f = fieldStart(m, 'fd=', scan.end);
      target = f < 0 ? NaN : intAt(m, f);
      const e = fieldStart(m, 'ev=', scan.end);
      if (e < 0 || !eventAt(m, e)) return false;
    }
    const key = evScratch.key;
    const ev: Interest = {
      kind: 'interest',
      op,
      fd,
      targetFd: Number.isNaN(target) ? null : target,
      key: Number.isNaN(key) ? null : key,
      flags: null,
      readable: evScratch.readable,
      writable: evScratch.writable,
    };
    if (tid !== undefined) ev.tid = tid;
    sink.event(ev, rec);
    return true;
  }

  /** `delete:+ [tid=N ]epoll_fd=E, fd=F` (7f4b54f..v5). */
  private delete(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const tid = tidAt(m, skipSpaces(m, 8));
    const fd = intField(m, 'epoll_fd=', scan.end);
    if (Number.isNaN(fd)) return false;
    const f = fieldStart(m, 'fd=', scan.end);
    const target = f < 0 ? NaN : intAt(m, f);
    const ev: Interest = {
      kind: 'interest',
      op: 'delete',
      fd,
      targetFd: Number.isNaN(target) ? null : target,
      key: null,
      flags: null,
    };
    if (tid !== undefined) ev.tid = tid;
    sink.event(ev, rec);
    return true;
  }

  /**
   * `new:+ tid=N epoll_fd=E, event_fd=F` is notify()'s entry (copy-paste bug, 7f4b54f..v2);
   * bare `new:+ tid=N` (7f4b54f..v4) / `new:+` (v5..v6) is Poller::new's entry: no event.
   */
  private newEntry(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const tid = tidAt(m, skipSpaces(m, 5));
    const fd = intField(m, 'epoll_fd=', scan.end);
    if (Number.isNaN(fd)) return true;
    sink.event(tid === undefined ? { kind: 'notify', fd } : { kind: 'notify', fd, tid }, rec);
    return true;
  }

  /** `new:- epoll_fd=E, event_fd=F, timer_fd=Some(T)` (7f4b54f..v6): the Poller exists. */
  private newExit(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = intField(m, 'epoll_fd=', 5);
    if (Number.isNaN(fd)) return false;
    const e = intField(m, 'event_fd=', scan.end);
    const t = fieldStart(m, 'timer_fd=', scan.end);
    const tv = t < 0 ? null : optionFdAt(m, t);
    sink.event(
      {
        kind: 'poller_new',
        poller: 'epoll',
        fd,
        eventFd: Number.isNaN(e) ? null : e,
        timerFd: tv === null || Number.isNaN(tv) ? null : tv,
      },
      rec,
    );
    return true;
  }
}
