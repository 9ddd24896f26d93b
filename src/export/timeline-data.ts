/**
 * The timeline page's data document: its types, and the bar lanes it is built from — columns of
 * bars (start, end, code, wait timeout) that grow and drop their oldest — with their encoding for
 * the page (zigzag/LEB128 varints, base64).
 */
import type { StallKind } from '../reactor/observations.js';

export type LaneKind = 'wait' | 'poll' | 'conn';

/** Wait timeout column: not logged, None (blocks until woken). */
export const TIMEOUT_NOT_LOGGED = -1;
export const TIMEOUT_NONE = -2;

export class BarLane {
  start = new Float64Array(256);
  end = new Float64Array(256);
  /** Waits only: timeout in ns, or TIMEOUT_NOT_LOGGED / TIMEOUT_NONE. */
  timeout: Float64Array | null;
  code = new Uint8Array(256);
  /** Live bars are start…n-1; head moves on when old bars go. */
  head = 0;
  n = 0;

  constructor(
    readonly id: string,
    readonly kind: LaneKind,
    readonly label: string,
  ) {
    this.timeout = kind === 'wait' ? new Float64Array(256) : null;
  }

  get size(): number {
    return this.n - this.head;
  }

  push(start: number, end: number, code: number, timeout: number): void {
    if (this.n === this.start.length) this.grow();
    const i = this.n++;
    this.start[i] = start;
    this.end[i] = end;
    this.code[i] = code;
    if (this.timeout) this.timeout[i] = timeout;
  }

  private grow(): void {
    // Compact first when most of the array is dropped bars (live), else double.
    const live = this.n - this.head;
    const cap = live * 2 < this.start.length ? this.start.length : this.start.length * 2;
    const move = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(this.head, this.n));
      return b;
    };
    this.start = move(this.start, (k) => new Float64Array(k));
    this.end = move(this.end, (k) => new Float64Array(k));
    this.code = move(this.code, (k) => new Uint8Array(k));
    if (this.timeout) this.timeout = move(this.timeout, (k) => new Float64Array(k));
    this.n = live;
    this.head = 0;
  }
}

export interface EncodedLane {
  id: string;
  kind: LaneKind;
  label: string;
  n: number;
  /** Zigzag varint deltas of start (units), sorted by start. */
  start: string;
  /** Varint end − start (units). */
  dur: string;
  code: string;
  /** Waits: varint timeout units + 2 (0 not logged, 1 None), else "". */
  timeout: string;
}

export function encodeLane(l: BarLane, unitNs: number): EncodedLane {
  const n = l.size;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = l.head + i;
  // Waits end in order of their end; drawing wants them by start (binary search on the view).
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (l.start[order[i]] < l.start[order[i - 1]]) sorted = false;
  if (!sorted) order.sort((a, b) => l.start[a] - l.start[b]);
  const start = new VarintWriter(n * 3);
  const dur = new VarintWriter(n * 3);
  const timeout = l.timeout ? new VarintWriter(n * 2) : null;
  const code = new Uint8Array(n);
  let prev = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const s = Math.round(l.start[i] / unitNs);
    start.zigzag(s - prev);
    prev = s;
    dur.uint(Math.max(0, Math.round(l.end[i] / unitNs) - s));
    code[k] = l.code[i];
    if (timeout && l.timeout) {
      const t = l.timeout[i];
      timeout.uint(t === TIMEOUT_NOT_LOGGED ? 0 : t === TIMEOUT_NONE ? 1 : Math.round(t / unitNs) + 2);
    }
  }
  return {
    id: l.id,
    kind: l.kind,
    label: l.label,
    n,
    start: start.base64(),
    dur: dur.base64(),
    code: Buffer.from(code.buffer, code.byteOffset, code.byteLength).toString('base64'),
    timeout: timeout ? timeout.base64() : '',
  };
}

/** LEB128 writer; values up to 2^53 (arithmetic, not 32-bit shifts). */
class VarintWriter {
  private buf: Uint8Array;
  private n = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  uint(v: number): void {
    if (this.n + 10 > this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    while (v >= 128) {
      this.buf[this.n++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.n++] = v;
  }

  zigzag(v: number): void {
    this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  base64(): string {
    return Buffer.from(this.buf.buffer, 0, this.n).toString('base64');
  }
}

export interface TimelineStall {
  kind: StallKind;
  startNs: number;
  endNs: number;
  durationNs: number;
  start: string;
  end: string;
  at: string;
  detail: string;
  /** Raw log lines around the stall's first line; null when they could not be read (stdin). */
  lines: Array<{ n: number; text: string }> | null;
  /** Line number of the stall's first line (highlighted). */
  line: number;
  file: string;
}

/** A stretch with no line while connections were open: not a stall (see QuietObservation). */
export interface TimelineQuiet {
  startNs: number;
  endNs: number;
  durationNs: number;
  start: string;
  openConnections: number;
  at: string;
}

export interface TimelineOpen {
  what: string;
  lane: string;
  sinceNs: number;
  endNs: number;
  since: string;
  at: string;
  detail: string;
}

/** One row of the summary panel: label and text. */
export type SummaryRow = [string, string];

export interface TimelineData {
  version: 1;
  title: string;
  originSec: number;
  unitNs: number;
  startNs: number;
  endNs: number;
  lanes: EncodedLane[];
  stalls: TimelineStall[];
  /** Quiet stretches (span-based relays): drawn apart from stalls, never counted as one. */
  quiet: TimelineQuiet[];
  quietCount: number;
  stallCounts: Record<StallKind, number>;
  active: { kind: StallKind; startNs: number; durationNs: number; start: string; at: string } | null;
  unfinished: TimelineOpen[];
  dropped: number;
  summary: SummaryRow[];
  windowNs: number | null;
}
