/**
 * polling 3.x (`tracing`, 3.0.0 2023-09 ..; async-io 2.x, libp2p 0.54–0.55 on async-std),
 * log-formats.md 5.3 and 3.5. Plain tracing output shows only each wait's end
 * (`new events epoll_fd=3 res=1`, no colon, unlike 2.x's `new events:`); its fields are in the
 * message, or — when a layout left them out — in the innermost span `wait{epoll_fd=3 timeout=None}`.
 * With FmtSpan, lifecycle events of span `wait` mark the start (`new`/`enter`) and the end
 * (`close time.busy=… time.idle=…`); spans add/modify/delete/notify are visible only that way.
 * Through the tracing→log bridge (no subscriber) the span's creation is a message:
 * `wait; epoll_fd=3 timeout=None` (disabled-span path) / `++ wait; …`, then `-> wait;`, `<- wait;`,
 * `-- wait;` (targets `tracing::span`, `tracing::span::active`, or the module path for env_logger ≤0.8).
 *
 * Double counting, decided here: with FmtSpan::FULL a wait logs new, enter, `new events`, exit,
 * close. `new` starts it; `enter` starts it only while no `new` was ever seen (FmtSpan is a
 * subscriber-wide setting: NEW either shows for every span or for none); `exit` is no event;
 * `close` ends it only if no `new events` ended that epoll_fd since its start (the `new events`
 * end carries `res`, which close lacks).
 */
import type { Decoder, PollerKind, ReactorEvent, ReactorEventSink, SpanPhase } from './events.js';
import type { LogRecord } from '../parse/record.js';
import {
  eventAt,
  evScratch,
  fdValueAt,
  fieldStart,
  innermostSpanStart,
  intField,
  isWordMessage,
  optionDurationAt,
  spanNameIs,
  timeoutOrUnknown,
  spanTimingInto,
} from './fields.js';

// Character codes the scanners below compare with. Module constants: V8 folds them like
// literals (imported ones it does not: a load per comparison, ~30% slower in a switch).
const C_LESS = 60,
  C_MINUS = 45,
  C_P = 80,
  C_PLUS = 43,
  C_a = 97,
  C_c = 99,
  C_d = 100,
  C_e = 101,
  C_m = 109,
  C_n = 110,
  C_w = 119;

/** Which FmtSpan lifecycle message `m` is (`new`, `enter`, `exit`, `close …`; Compact appends span fields after a space). */
function lifecycleOf(m: string): SpanPhase | undefined {
  switch (m.charCodeAt(0)) {
    case C_n:
      return isWordMessage(m, 'new') ? 'new' : undefined;
    case C_e:
      return isWordMessage(m, 'enter') ? 'enter' : isWordMessage(m, 'exit') ? 'exit' : undefined;
    case C_c:
      return isWordMessage(m, 'close') ? 'close' : undefined;
    default:
      return undefined;
  }
}

const SPAN_NONE = 0,
  SPAN_WAIT = 1,
  SPAN_NOTIFY = 2,
  SPAN_ADD = 3,
  SPAN_MODIFY = 4,
  SPAN_DELETE = 5,
  SPAN_OTHER = 6;

/** Which polling 3.x span starts at `s` of `spans`. */
function spanOf(spans: string, s: number): number {
  switch (spans.charCodeAt(s)) {
    case C_w:
      return spanNameIs(spans, s, 'wait') ? SPAN_WAIT : SPAN_NONE;
    case C_n:
      return spanNameIs(spans, s, 'notify') ? SPAN_NOTIFY : SPAN_NONE;
    case C_a:
      return spanNameIs(spans, s, 'add') ? SPAN_ADD : SPAN_NONE;
    case C_m:
      return spanNameIs(spans, s, 'modify') ? SPAN_MODIFY : SPAN_NONE;
    case C_d:
      return spanNameIs(spans, s, 'delete') ? SPAN_DELETE : spanNameIs(spans, s, 'drop') ? SPAN_OTHER : SPAN_NONE;
    case C_P:
      return spanNameIs(spans, s, 'Poller::wait') || spanNameIs(spans, s, 'Poller::notify') ? SPAN_OTHER : SPAN_NONE;
    default:
      return SPAN_NONE;
  }
}

function pollerOfTarget(target: string): PollerKind {
  return target.endsWith('kqueue') ? 'kqueue' : target.endsWith('::poll') ? 'poll' : 'epoll';
}

export class Polling3Decoder implements Decoder {
  readonly name = 'polling3';
  readonly targets: readonly string[] = [
    'polling::epoll',
    'polling::kqueue',
    'polling::poll',
    'polling',
    'tracing::span',
    'tracing::span::active',
  ];

  /** A FmtSpan `new` was seen: NEW is on, so `enter` no longer marks a start. */
  private sawNew = false;
  /** poller fds whose current wait a `new events` already ended (its FmtSpan close then adds nothing). */
  private readonly endedByEvents = new Set<number>();

  decode(rec: LogRecord, sink: ReactorEventSink): boolean {
    const m = rec.message;
    const c0 = m.charCodeAt(0);
    if (c0 === C_n && isWordMessage(m, 'new events')) return this.newEvents(m, rec, sink);
    const lc = lifecycleOf(m);
    if (lc !== undefined && this.lifecycle(lc, m, rec, sink)) return true;
    switch (c0) {
      case C_n: // `new epoll_fd=3 notifier=EventFd(OwnedFd { fd: 4 }) [timer_fd=…]`, once per Poller
        if (m.startsWith('new ') && fieldStart(m, 'notifier=', 4) >= 0) return this.newPoller(m, rec, sink);
        return false;
      case C_w: // bridged span creation (disabled-span path)
        if (m.startsWith('wait; ')) return this.bridgedWait(m, 6, rec, sink);
        // src/lib.rs (target `polling`): this Poller::wait returns at once, no epoll_wait: no event
        return m.startsWith('wait: skipping because another thread');
      case C_PLUS: // bridged `++ wait; epoll_fd=3 timeout=None` / `++ notify; …`
        if (m.startsWith('++ wait; ')) return this.bridgedWait(m, 9, rec, sink);
        if (m.startsWith('++ notify; ')) return this.bridgedNotify(m, 11, rec, sink);
        return false;
      case C_MINUS: // bridged enter `-> wait;` and close `-- wait;`: the start was the creation, the end `new events`
        return m.startsWith('-> wait;') || m.startsWith('-- wait;');
      case C_LESS: // bridged exit
        return m.startsWith('<- wait;');
      case C_c:
        return m.startsWith('created eventfd for notifier');
      case C_e:
        return m.startsWith('eventfd() failed');
      default:
        return false;
    }
  }

  /** `new events epoll_fd=3 res=1`: the end of a wait (3.x's only per-wait event). */
  private newEvents(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    let poller: PollerKind = 'epoll';
    let fd = intField(m, 'epoll_fd=', 11);
    if (Number.isNaN(fd)) {
      fd = intField(m, 'kqueue_fd=', 11);
      if (!Number.isNaN(fd)) poller = 'kqueue';
    }
    if (Number.isNaN(fd)) {
      // fields left out of the message: take them from the innermost span `wait{epoll_fd=3 …}`
      const s = innermostSpanStart(rec.spans);
      if (s < 0) return false;
      fd = intField(rec.spans, 'epoll_fd=', s);
      if (Number.isNaN(fd)) {
        fd = intField(rec.spans, 'kqueue_fd=', s);
        poller = 'kqueue';
      }
      if (Number.isNaN(fd)) {
        // the poll(2) backend (src/poll.rs): `new events num_events=1 notified=false num_fd_events=1`
        // in span `wait{notify_read=5 timeout=None}`, the fd its FmtSpan start used too
        fd = intField(rec.spans, 'notify_read=', s);
        if (Number.isNaN(fd)) return false;
        poller = 'poll';
      }
    }
    const res = intField(m, poller === 'poll' ? 'num_events=' : 'res=', 11);
    this.endedByEvents.add(fd);
    sink.event({ kind: 'wait_end', poller, fd, res: Number.isNaN(res) ? null : res }, rec);
    return true;
  }

  private lifecycle(lc: SpanPhase, m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const spans = rec.spans;
    const s = innermostSpanStart(spans);
    if (s < 0) return false;
    const span = spanOf(spans, s);
    if (span === SPAN_NONE) return false;
    if (lc === 'new') this.sawNew = true;
    const starts = lc === 'new' || (lc === 'enter' && !this.sawNew);
    switch (span) {
      case SPAN_WAIT:
        return this.waitLifecycle(lc, starts, m, spans, s, rec, sink);
      case SPAN_NOTIFY:
        if (starts) {
          const fd = this.spanOrMessageInt(spans, s, m, 'epoll_fd=');
          sink.event({ kind: 'notify', fd: Number.isNaN(fd) ? null : fd }, rec);
        }
        return true;
      case SPAN_ADD:
        return this.interestSpan('add', starts, m, spans, s, rec, sink);
      case SPAN_MODIFY:
        return this.interestSpan('modify', starts, m, spans, s, rec, sink);
      case SPAN_DELETE:
        return this.interestSpan('delete', starts, m, spans, s, rec, sink);
      default: // drop, and the `polling` API spans (`Poller::wait` is not a wait start, 5.1)
        return true;
    }
  }

  private waitLifecycle(
    lc: SpanPhase,
    starts: boolean,
    m: string,
    spans: string,
    s: number,
    rec: LogRecord,
    sink: ReactorEventSink,
  ): boolean {
    const poller = pollerOfTarget(rec.target);
    let fd = this.spanOrMessageInt(spans, s, m, poller === 'kqueue' ? 'kqueue_fd=' : 'epoll_fd=');
    if (Number.isNaN(fd) && poller === 'poll') fd = this.spanOrMessageInt(spans, s, m, 'notify_read=');
    if (Number.isNaN(fd)) return true;
    if (starts) {
      this.endedByEvents.delete(fd);
      sink.event({ kind: 'wait_start', poller, fd, timeoutNs: timeoutOrUnknown(this.timeoutOf(spans, s, m)) }, rec);
    } else if (lc === 'close') {
      if (this.endedByEvents.delete(fd)) return true;
      const ev: Extract<ReactorEvent, { kind: 'wait_end' }> = { kind: 'wait_end', poller, fd, res: null };
      spanTimingInto(m, ev);
      sink.event(ev, rec);
    }
    return true;
  }

  /**
   * The wait's timeout from the span fields (or the message, Compact layout): `timeout=None` /
   * `timeout=Some(5s)` (≤3.9) in ns; ≥3.10 `deadline=None` → null. A `deadline=Some(Instant { … })`
   * is a monotonic-clock instant that cannot be related to log time: NaN (unknown).
   */
  private timeoutOf(spans: string, s: number, m: string): number | null {
    let p = fieldStart(spans, 'timeout=', s);
    if (p >= 0) return optionDurationAt(spans, p);
    p = fieldStart(m, 'timeout=');
    if (p >= 0) return optionDurationAt(m, p);
    p = fieldStart(spans, 'deadline=', s);
    if (p >= 0) return spans.startsWith('None', p) ? null : NaN;
    p = fieldStart(m, 'deadline=');
    if (p >= 0) return m.startsWith('None', p) ? null : NaN;
    return NaN;
  }

  private spanOrMessageInt(spans: string, s: number, m: string, key: string): number {
    const v = intField(spans, key, s);
    return Number.isNaN(v) ? intField(m, key) : v;
  }

  /**
   * Spans `add{epoll_fd=3 fd=5 ev=Event { key: 0, readable: false, writable: false, extra: … }}`,
   * `modify{epoll_fd=3 fd=BorrowedFd { fd: 5 } ev=…}`, `delete{epoll_fd=3 fd=BorrowedFd { fd: 5 }}`.
   */
  private interestSpan(
    op: 'add' | 'modify' | 'delete',
    starts: boolean,
    m: string,
    spans: string,
    s: number,
    rec: LogRecord,
    sink: ReactorEventSink,
  ): boolean {
    if (!starts) return true;
    const fd = this.spanOrMessageInt(spans, s, m, 'epoll_fd=');
    if (Number.isNaN(fd)) return true;
    const f = fieldStart(spans, 'fd=', s);
    const target = f < 0 ? NaN : fdValueAt(spans, f);
    const ev: Extract<ReactorEvent, { kind: 'interest' }> = {
      kind: 'interest',
      op,
      fd,
      targetFd: Number.isNaN(target) ? null : target,
      key: null,
      flags: null,
    };
    const e = fieldStart(spans, 'ev=', s);
    if (e >= 0 && eventAt(spans, e)) {
      ev.key = Number.isNaN(evScratch.key) ? null : evScratch.key;
      ev.readable = evScratch.readable;
      ev.writable = evScratch.writable;
    }
    sink.event(ev, rec);
    return true;
  }

  /** `new epoll_fd=3 notifier=EventFd(OwnedFd { fd: 4 }) timer_fd=Some(OwnedFd { fd: 5 })`. */
  private newPoller(m: string, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = intField(m, 'epoll_fd=', 4);
    if (Number.isNaN(fd)) return false;
    let eventFd: number | null = null;
    const n = fieldStart(m, 'notifier=', 4);
    // An eventfd notifier prints its fd; a `Pipe { read_pipe, write_pipe }` notifier has no single eventfd.
    if (m.startsWith('EventFd(', n)) {
      const v = fdValueAt(m, n + 8);
      if (!Number.isNaN(v)) eventFd = v;
    }
    let timerFd: number | null = null;
    const t = fieldStart(m, 'timer_fd=', 4);
    if (t >= 0 && m.startsWith('Some(', t)) {
      const v = fdValueAt(m, t + 5);
      if (!Number.isNaN(v)) timerFd = v;
    }
    sink.event({ kind: 'poller_new', poller: 'epoll', fd, eventFd, timerFd }, rec);
    return true;
  }

  /** Bridged `wait; epoll_fd=3 timeout=None`: the span is created right before it is entered for epoll_wait. */
  private bridgedWait(m: string, pos: number, rec: LogRecord, sink: ReactorEventSink): boolean {
    let poller: PollerKind = 'epoll';
    let fd = intField(m, 'epoll_fd=', pos);
    if (Number.isNaN(fd)) {
      fd = intField(m, 'kqueue_fd=', pos);
      if (Number.isNaN(fd)) return false;
      poller = 'kqueue';
    }
    this.endedByEvents.delete(fd);
    let timeoutNs: number | null = NaN;
    const t = fieldStart(m, 'timeout=', pos);
    if (t >= 0) timeoutNs = optionDurationAt(m, t);
    else {
      const d = fieldStart(m, 'deadline=', pos);
      if (d >= 0 && m.startsWith('None', d)) timeoutNs = null;
    }
    sink.event({ kind: 'wait_start', poller, fd, timeoutNs: timeoutOrUnknown(timeoutNs) }, rec);
    return true;
  }

  /** Bridged `++ notify; epoll_fd=3 notifier=…`: the eventfd is written. */
  private bridgedNotify(m: string, pos: number, rec: LogRecord, sink: ReactorEventSink): boolean {
    const fd = intField(m, 'epoll_fd=', pos);
    sink.event({ kind: 'notify', fd: Number.isNaN(fd) ? null : fd }, rec);
    return true;
  }
}
