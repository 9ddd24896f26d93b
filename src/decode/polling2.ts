/**
 * Upstream polling 2.x (`log`, 2.0.0..2.8.0; async-io 1.x), log-formats.md 5.1–5.2: the epoll,
 * kqueue and poll backends, plus the `Poller::` API lines of target `polling`. The winksaville
 * fork kept several of these shapes verbatim in its early commits (`modify:`, `remove:`, `new:`,
 * `drop:` up to f5b8055), so they are read here too; polling 2.x lines bridged into tracing
 * (`tracing-log`) carry the same text.
 *
 * wepoll (Windows, `handle=`) lines are not read: no relay in scope runs on Windows.
 */
import type { Decoder, PollerKind, ReactorEventSink } from './events.js';
import type { LogRecord } from '../parse/record.js';
import {
  digitsEnd,
  eventAt,
  eventBodyAt,
  evScratch,
  fieldStart,
  intAt,
  optionDurationAt,
  optionFdAt,
  scan,
  textAt,
  timeoutOrUnknown,
} from './fields.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_P = 80,
  C_COMMA = 44,
  C_EQ = 61,
  C_f = 102,
  C_SPACE = 32,
  C_COLON = 58,
  C_e = 101,
  C_k = 107,
  C_s = 115,
  C_a = 97,
  C_d = 100,
  C_m = 109,
  C_n = 110,
  C_r = 114,
  C_w = 119;

/** The backend named by the poller field at `pos`, set by pollerFdAt. */
let lastKind: PollerKind = 'epoll';

/**
 * The poller field the backends print first: `epoll_fd=` (epoll), `kqueue_fd=` (kqueue),
 * `notify_read=` (poll). NaN when the message has none there. Sets lastKind and scan.end.
 */
function pollerFdAt(m: string, pos: number): number {
  // By the first char, then indexOf at the position (textAt): cheaper than startsWith on a sliced
  // string, and the fork's `wait: running …` lines reach here too (this decoder runs first).
  const c = m.charCodeAt(pos);
  if (c === C_e && textAt(m, pos, 'epoll_fd=')) {
    lastKind = 'epoll';
    return intAt(m, pos + 9);
  }
  if (c === C_k && textAt(m, pos, 'kqueue_fd=')) {
    lastKind = 'kqueue';
    return intAt(m, pos + 10);
  }
  if (c === C_n && textAt(m, pos, 'notify_read=')) {
    lastKind = 'poll';
    return intAt(m, pos + 12);
  }
  scan.end = pos;
  return NaN;
}

/** Off: the generic reading only (test/decode/polling-fork-fast.test.ts compares the two). */
export const polling2FastPaths = { on: true };

/** Could `m` be a `wait: ` line that wait() reads (by its 5th to 7th chars)? */
function waitCandidate(m: string): boolean {
  const c6 = m.charCodeAt(6);
  return (
    (c6 === C_e || c6 === C_k || c6 === C_n || c6 === C_s) && m.charCodeAt(5) === C_SPACE && m.charCodeAt(4) === C_COLON
  );
}

/** `, fd=` + digits + `, ev=Event { ` at `p` (after the poller fd's digits). */
function fieldsLaidOut(m: string, p: number): boolean {
  if (
    m.charCodeAt(p) !== C_COMMA ||
    m.charCodeAt(p + 1) !== C_SPACE ||
    m.charCodeAt(p + 2) !== C_f ||
    m.charCodeAt(p + 3) !== C_d ||
    m.charCodeAt(p + 4) !== C_EQ
  )
    return false;
  const d = digitsEnd(m, p + 5);
  return d > p + 5 && textAt(m, d, ', ev=Event { ');
}

export class Polling2Decoder implements Decoder {
  readonly name = 'polling2';
  readonly targets: readonly string[] = ['polling::epoll', 'polling::kqueue', 'polling::poll', 'polling'];

  decode(rec: LogRecord, sink: ReactorEventSink): boolean {
    const m = rec.message;
    // This decoder runs first on the fork's lines too (`wait:+`, `modify:+`, `ctl:-` …): a char or
    // two (a space after the word's `:` here, a sign there) reject them before any native string
    // call (~20 ns each). The checks without them read the same (polling2FastPaths).
    const quick = polling2FastPaths.on;
    switch (m.charCodeAt(0)) {
      case C_w:
        // wait() reads `epoll_fd=`/`kqueue_fd=`/`notify_read=` or `skipping…` after `wait: `: the
        // fork's `wait: waiting …`, `running …`, `list[…` are no wait here
        if (quick && !waitCandidate(m)) return false;
        if (textAt(m, 0, 'wait: ')) return this.wait(m, rec, sink);
        return false;
      case C_n:
        if (quick && m.charCodeAt(3) === C_COLON && m.charCodeAt(4) !== C_SPACE) return false; // fork `new:±`
        if (m.startsWith('new events: ')) return this.newEvents(m, rec, sink);
        if (m.startsWith('new: ')) return this.newPoller(m, rec, sink);
        if ((!quick || m.charCodeAt(7) === C_SPACE) && m.startsWith('notify: ')) {
          const fd = pollerFdAt(m, 8);
          if (Number.isNaN(fd)) return false;
          sink.event({ kind: 'notify', fd }, rec);
          return true;
        }
        return false;
      case C_m:
        if (quick && (m.charCodeAt(7) !== C_SPACE || m.charCodeAt(6) !== C_COLON)) return false;
        if (textAt(m, 0, 'modify: ')) return this.interest(m, 8, 'modify', rec, sink);
        return false;
      case C_a:
        if (quick && m.charCodeAt(4) !== C_SPACE) return false;
        if (m.startsWith('add: ')) return this.interest(m, 5, 'add', rec, sink);
        return false;
      case C_r:
        // epoll's delete() logs `remove:` (gotcha 14)
        if (m.startsWith('remove: ')) return this.remove(m, 8, rec, sink);
        return false;
      case C_d:
        // the poll backend's delete() logs `delete:`
        if (m.startsWith('delete: ')) return this.remove(m, 8, rec, sink);
        if (m.startsWith('drop: ')) return !Number.isNaN(pollerFdAt(m, 6));
        return false;
      case C_P:
        // target `polling`: API entries. `Poller::wait(_, T)` precedes `wait:` but is not a wait
        // start (`wait: skipping …` may follow with no sys wait); `Poller::notify()` is logged for
        // every call, including no-ops, so its notify has no fd.
        if (textAt(m, 0, 'Poller::wait(')) return true;
        if (m.startsWith('Poller::notify()')) {
          sink.event({ kind: 'notify', fd: null }, rec);
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  /** `wait: epoll_fd=3, timeout=Some(569.999073677s)`: WAIT START; `wait: skipping …`: no sys wait. */
  private wait(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = pollerFdAt(m, 6);
    if (Number.isNaN(fd)) return m.startsWith('skipping because another thread', 6);
    const poller = lastKind;
    const p = fieldStart(m, 'timeout=', scan.end);
    const timeoutNs = p < 0 ? undefined : timeoutOrUnknown(optionDurationAt(m, p));
    sink.event({ kind: 'wait_start', poller, fd, timeoutNs }, rec);
    return true;
  }

  /** `new events: epoll_fd=5, res=1` / `kqueue_fd=5, res=1` / poll `notify_read=3, num=2`: WAIT END. */
  private newEvents(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = pollerFdAt(m, 12);
    if (Number.isNaN(fd)) return false;
    const poller = lastKind;
    let p = fieldStart(m, 'res=', scan.end);
    if (p < 0) p = fieldStart(m, 'num=', scan.end);
    const res = p < 0 ? NaN : intAt(m, p);
    sink.event({ kind: 'wait_end', poller, fd, res: Number.isNaN(res) ? null : res }, rec);
    return true;
  }

  /**
   * `new: epoll_fd=3, event_fd=4, timer_fd=Some(5)`, kqueue `new: kqueue_fd=5[, read_stream=…]`,
   * poll `new: notify_read=3, notify_write=4` (a pipe, no eventfd: eventFd null).
   */
  private newPoller(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = pollerFdAt(m, 5);
    if (Number.isNaN(fd)) return false;
    const poller = lastKind;
    let eventFd: number | null = null;
    let timerFd: number | null = null;
    if (poller === 'epoll') {
      const e = fieldStart(m, 'event_fd=', scan.end);
      if (e >= 0) {
        const v = intAt(m, e);
        eventFd = Number.isNaN(v) ? null : v;
      }
      const t = fieldStart(m, 'timer_fd=', scan.end);
      if (t >= 0) {
        const v = optionFdAt(m, t);
        timerFd = v === null || Number.isNaN(v) ? null : v;
      }
    }
    sink.event({ kind: 'poller_new', poller, fd, eventFd, timerFd }, rec);
    return true;
  }

  /**
   * `add: epoll_fd=E, fd=F, ev=Event { key: K, readable: b, writable: b }` and `modify: …`.
   * kqueue's add, modify and delete all log `add:` from one code path (gotcha 14), so a kqueue
   * `add:` is reported as a modify. The fork's b314e91..2b9a283 `add: … backtrace:\n…` duplicates
   * the `add:+` entry logged just before it: recognised, no event.
   */
  private interest(m: string, pos: number, op: 'add' | 'modify', rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = pollerFdAt(m, pos);
    if (Number.isNaN(fd)) return false;
    const poller = lastKind;
    let targetFd: number;
    let e = scan.end;
    if (polling2FastPaths.on && fieldsLaidOut(m, e)) {
      // `, fd=F, ev=Event { ` right after the poller fd, as polling writes it: where the searches
      // below would find them first (`, ` before each key), read in place.
      targetFd = intAt(m, e + 5);
      e = scan.end + 5;
      if (!eventBodyAt(m, e + 8)) return false;
    } else {
      const f = fieldStart(m, 'fd=', scan.end);
      targetFd = f < 0 ? NaN : intAt(m, f);
      e = fieldStart(m, 'ev=', scan.end);
      if (e < 0 || !eventAt(m, e)) return false;
    }
    if (m.indexOf('} backtrace:', e) >= 0) return true;
    const key = evScratch.key;
    const readable = evScratch.readable;
    const writable = evScratch.writable;
    sink.event(
      {
        kind: 'interest',
        op: poller === 'kqueue' ? 'modify' : op,
        fd,
        targetFd: Number.isNaN(targetFd) ? null : targetFd,
        key: Number.isNaN(key) ? null : key,
        flags: null,
        readable,
        writable,
      },
      rec,
    );
    return true;
  }

  /** `remove: epoll_fd=E, fd=F` (epoll) / `delete: notify_read=P, fd=F` (poll). */
  private remove(m: string, pos: number, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = pollerFdAt(m, pos);
    if (Number.isNaN(fd)) return false;
    const f = fieldStart(m, 'fd=', scan.end);
    const targetFd = f < 0 ? NaN : intAt(m, f);
    sink.event(
      {
        kind: 'interest',
        op: 'delete',
        fd,
        targetFd: Number.isNaN(targetFd) ? null : targetFd,
        key: null,
        flags: null,
      },
      rec,
    );
    return true;
  }
}
