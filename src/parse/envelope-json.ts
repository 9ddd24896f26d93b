import type { Envelope } from './envelopes.js';
import type { LogRecord } from './record.js';
import { clear, levelAt, threadIdText } from './envelope-scan.js';
import { parseTracingJsonFast, scanJsonTimestamp } from './envelope-json-fast.js';
import type { PartialTimeContext } from './timestamp.js';

/**
 * tracing-subscriber JSON (T4): one object per line. Structured fields are appended to the
 * message as ` key=value` so decoders read one shape; `log.*` bookkeeping fields are dropped.
 *
 * Lines in the exact shape tracing-subscriber writes take a fast path (envelope-json-fast.ts) that
 * gives the same record; anything it is not sure of goes through JSON.parse here.
 */
export const tracingJson: Envelope = {
  id: 'tracing_json',
  description: 'tracing-subscriber JSON `{"timestamp":…,"level":"TRACE","fields":{…},"target":…}`',
  parse(s, rec, ctx) {
    return parseTracingJsonFast(s, rec, ctx) || parseTracingJsonSlow(s, rec, ctx);
  },
};

/** The reference reading of a tracing JSON line: JSON.parse, then the object's fields. */
export function parseTracingJsonSlow(s: string, rec: LogRecord, ctx: PartialTimeContext): boolean {
  if (s.charCodeAt(0) !== 123) return false;
  let o: unknown;
  try {
    o = JSON.parse(s);
  } catch {
    return false;
  }
  if (typeof o !== 'object' || o === null) return false;
  const obj = o as Record<string, unknown>;
  const level = typeof obj.level === 'string' ? levelAt(obj.level, 0) : undefined;
  if (level === undefined || typeof obj.target !== 'string') return false;
  clear(rec);
  if (typeof obj.timestamp === 'string' && scanJsonTimestamp(obj.timestamp, 0, rec, ctx) < 0) return false;
  rec.level = level;
  rec.target = obj.target;
  const fields = (typeof obj.fields === 'object' && obj.fields !== null ? obj.fields : obj) as Record<string, unknown>;
  let msg = typeof fields.message === 'string' ? fields.message : '';
  for (const k in fields) {
    if (k === 'message' || k.startsWith('log.') || (fields === obj && TOP_LEVEL_KEYS.has(k))) continue;
    msg += (msg === '' ? '' : ' ') + k + '=' + renderValue(fields[k]);
  }
  rec.message = msg;
  rec.spans = renderSpanContext(obj);
  rec.thread = threadOf(obj);
  return true;
}

/**
 * `span` and `spans` of a parsed line rendered like the text layouts' span context.
 * `spans` lists the spans from the root to the current one; for a span's own lifecycle event
 * (FmtSpan `close` …) it stops at the parent and `span` alone names the span itself.
 */
export function renderSpanContext(obj: Record<string, unknown>): string {
  const own = typeof obj.span === 'object' && obj.span !== null ? renderSpan(obj.span) : '';
  if (Array.isArray(obj.spans) && obj.spans.length > 0) {
    const list = obj.spans.map(renderSpan);
    if (own !== '' && list[list.length - 1] !== own) list.push(own);
    return list.join(':');
  }
  return own;
}

/** The record's thread: `threadName`, else the number in `threadId` (`ThreadId(7)` → "7"), else "". */
export function threadOf(obj: Record<string, unknown>): string {
  if (typeof obj.threadName === 'string') return obj.threadName;
  if (typeof obj.threadId === 'string') return threadIdText(obj.threadId);
  return '';
}

const TOP_LEVEL_KEYS = new Set([
  'timestamp',
  'level',
  'target',
  'filename',
  'line_number',
  'span',
  'spans',
  'threadName',
  'threadId',
]);

function renderValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function renderSpan(span: unknown): string {
  if (typeof span !== 'object' || span === null) return '';
  const o = span as Record<string, unknown>;
  let fields = '';
  for (const k in o) {
    if (k === 'name') continue;
    fields += (fields === '' ? '' : ' ') + k + '=' + renderValue(o[k]);
  }
  const name = typeof o.name === 'string' ? o.name : '?';
  return fields === '' ? name : `${name}{${fields}}`;
}
