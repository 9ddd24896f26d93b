/**
 * Log time: a timestamp as written in the log, never the reader's wall clock.
 * Kept as whole seconds + nanoseconds so that µs and ns survive; durations between two log times
 * are exact doubles in ns as long as they are shorter than ~104 days.
 */
export interface LogTime {
  readonly sec: number;
  readonly nsec: number;
  /** Fraction digits of the source timestamp (0, 3, 6, 9, …): the precision of this instant. */
  readonly digits: number;
}

export const NS_PER_SEC = 1_000_000_000;
const MAX_DATE_SEC = 8.64e12;

export function logTime(sec: number, nsec: number, digits: number): LogTime {
  return { sec, nsec, digits };
}

/** b − a in nanoseconds. */
export function diffNs(a: LogTime, b: LogTime): number {
  return (b.sec - a.sec) * NS_PER_SEC + (b.nsec - a.nsec);
}

/** a + ns, keeping the precision of a. */
export function addNs(a: LogTime, ns: number, digits = a.digits): LogTime {
  let sec = a.sec + Math.trunc(ns / NS_PER_SEC);
  let nsec = a.nsec + Math.round(ns % NS_PER_SEC);
  while (nsec >= NS_PER_SEC) {
    nsec -= NS_PER_SEC;
    sec += 1;
  }
  while (nsec < 0) {
    nsec += NS_PER_SEC;
    sec -= 1;
  }
  return { sec, nsec, digits };
}

export function compareTime(a: LogTime, b: LogTime): number {
  return a.sec !== b.sec ? a.sec - b.sec : a.nsec - b.nsec;
}

/** Resolution of a timestamp with `digits` fraction digits, in ns (1 s at 0 digits). */
export function resolutionNs(digits: number): number {
  return RESOLUTION_NS[digits < 0 ? 0 : digits > 9 ? 9 : digits];
}

const RESOLUTION_NS = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1];

/** ISO 8601 UTC with as many fraction digits as the log had: 2022-04-21T22:35:27.437652Z */
export function formatTime(t: LogTime): string {
  // Date's range is ±8.64e12 s: a time outside it (a hostile span timing) is printed, never thrown on.
  if (!(t.sec >= -MAX_DATE_SEC && t.sec <= MAX_DATE_SEC)) return `${t.sec}s since 1970`;
  const base = new Date(t.sec * 1000).toISOString().slice(0, 19);
  if (t.digits <= 0) return base + 'Z';
  const frac = String(t.nsec).padStart(9, '0').slice(0, Math.min(9, t.digits));
  return `${base}.${frac}Z`;
}

/** Human duration from ns: 213µs, 45.143128s, 1.2ms … */
export function formatDuration(ns: number): string {
  const a = Math.abs(ns);
  if (a >= NS_PER_SEC) return `${trimNum(ns / NS_PER_SEC, 6)}s`;
  if (a >= 1_000_000) return `${trimNum(ns / 1_000_000, 3)}ms`;
  if (a >= 1_000) return `${trimNum(ns / 1_000, 3)}µs`;
  return `${Math.round(ns)}ns`;
}

function trimNum(v: number, maxDigits: number): string {
  return v.toFixed(maxDigits).replace(/\.?0+$/, '');
}

/**
 * Parses a Rust `Duration` Debug value (`569.999073677s`, `50ms`, `1.5µs`, `0ns`) to ns.
 * Also accepts tracing's FmtSpan `time.busy` style (`41.2µs`, `4.99s`). Returns NaN if not one.
 */
export function parseRustDuration(text: string): number {
  let end = text.length;
  let scale: number;
  if (text.endsWith('ns')) {
    scale = 1;
    end -= 2;
  } else if (text.endsWith('µs') || text.endsWith('us')) {
    scale = 1_000;
    end -= 2;
  } else if (text.endsWith('ms')) {
    scale = 1_000_000;
    end -= 2;
  } else if (text.endsWith('s')) {
    scale = NS_PER_SEC;
    end -= 1;
  } else return NaN;
  if (end === 0) return NaN;
  const v = Number(text.slice(0, end));
  return Number.isFinite(v) ? Math.round(v * scale) : NaN;
}

/**
 * A duration as people write it in flags and config files: a number with a unit (`250ms`,
 * `1.5s`, `800us`, `800µs`, `10ns`) or a plain number of milliseconds (`500`, also a YAML number).
 * Returns ns, or NaN if the text is not a duration. The sign is kept, so that callers can say
 * "must be greater than 0" about `-1s` rather than "not a duration".
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1e6 : NaN;
  const text = value.trim();
  if (/^[-+]?\d+(\.\d+)?$/.test(text)) return Number(text) * 1e6;
  return parseRustDuration(text);
}
