/**
 * A small OTLP/HTTP trace receiver on loopback for the tests: it decodes what the exporter
 * actually sends. @opentelemetry/exporter-trace-otlp-http sends OTLP/JSON (Content-Type
 * application/json, optionally gzip-compressed per OTEL_EXPORTER_OTLP_COMPRESSION); ids are hex
 * strings, times are decimal strings of unix nanoseconds, attribute values are AnyValue objects.
 * Anything else is answered 415 so a change of encoding fails the tests instead of passing unseen.
 * Given a certificate and key it listens with TLS (https), as a collector across a network does.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

export type AttrValue = string | number | boolean | AttrValue[] | null;

export interface ReceivedSpan {
  service: string;
  resource: Record<string, AttrValue>;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** unix ns as bigint: exact */
  start: bigint;
  end: bigint;
  attributes: Record<string, AttrValue>;
  status: { code: number; message?: string };
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, AttrValue> }>;
  events: Array<{ name: string; time: bigint; attributes: Record<string, AttrValue> }>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value: AnyValue;
}

function decodeValue(v: AnyValue): AttrValue {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeValue);
  return null;
}

function decodeAttrs(kvs: KeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = decodeValue(kv.value);
  return out;
}

function hexId(id: unknown, bytes: number, what: string): string {
  if (id === undefined || id === '') return '';
  if (typeof id !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(id))
    throw new Error(`bad ${what}: ${JSON.stringify(id)}`);
  return id;
}

/** OTLP/JSON ExportTraceServiceRequest → spans. Throws on anything malformed. */
export function decodeTraceRequest(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const req = body as {
    resourceSpans?: Array<{
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
    }>;
  };
  if (!Array.isArray(req.resourceSpans)) throw new Error('no resourceSpans');
  for (const rs of req.resourceSpans) {
    const resource = decodeAttrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const start = BigInt(s.startTimeUnixNano as string);
        const end = BigInt(s.endTimeUnixNano as string);
        out.push({
          service: String(resource['service.name']),
          resource,
          traceId: hexId(s.traceId, 16, 'traceId'),
          spanId: hexId(s.spanId, 8, 'spanId'),
          parentSpanId: hexId(s.parentSpanId, 8, 'parentSpanId'),
          name: String(s.name),
          start,
          end,
          attributes: decodeAttrs(s.attributes as KeyValue[]),
          status:
            (s.status as { code?: number; message?: string } | undefined)?.code !== undefined
              ? { code: (s.status as { code: number }).code, message: (s.status as { message?: string }).message }
              : { code: 0 },
          links: ((s.links as Array<{ traceId: string; spanId: string; attributes?: KeyValue[] }>) ?? []).map((l) => ({
            traceId: hexId(l.traceId, 16, 'link traceId'),
            spanId: hexId(l.spanId, 8, 'link spanId'),
            attributes: decodeAttrs(l.attributes),
          })),
          events: ((s.events as Array<{ name: string; timeUnixNano: string; attributes?: KeyValue[] }>) ?? []).map(
            (e) => ({
              name: e.name,
              time: BigInt(e.timeUnixNano),
              attributes: decodeAttrs(e.attributes),
            }),
          ),
        });
      }
    }
  }
  return out;
}

/** TLS for the receiver: PEM texts of its certificate (chain) and key. */
export interface ReceiverTls {
  cert: string;
  key: string;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  rejected = 0;
  /** When set, every request is answered with this status (503 = collector overloaded). */
  failWith: number | null = null;
  /** Keep only a count (benchmarks): decoding still happens. */
  countOnly = false;
  spanCount = 0;
  /** Headers and content encoding of every request, in order. */
  readonly requestInfo: Array<{ headers: Record<string, string | string[] | undefined> }> = [];
  /** When set, a request without these header values is answered 401 (a collector's auth extension). */
  requireHeaders: Record<string, string> | null = null;
  /** TLS connections that failed before any request (wrong CA, plain http to the https port). */
  tlsErrors = 0;
  private server: Server | null = null;
  port = 0;

  constructor(private readonly tls: ReceiverTls | null = null) {}

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const onRequest = (req: IncomingMessage, res: import('node:http').ServerResponse): void => {
      void this.handle(req, res);
    };
    const server: Server = this.tls ? createTlsServer({ ...this.tls }, onRequest) : createServer(onRequest);
    if (this.tls) server.on('tlsClientError', () => this.tlsErrors++);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops listening and drops open connections (the collector going down). */
  async stop(): Promise<void> {
    const s = this.server;
    if (s === null) return;
    this.server = null;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.requests++;
    this.requestInfo.push({ headers: req.headers });
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    if (this.requireHeaders !== null) {
      for (const [name, value] of Object.entries(this.requireHeaders)) {
        if (req.headers[name.toLowerCase()] !== value) {
          this.rejected++;
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"unauthorized"}');
          return;
        }
      }
    }
    if (this.failWith !== null) {
      this.rejected++;
      res.writeHead(this.failWith, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      res.writeHead(415).end();
      return;
    }
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    let spans: ReceivedSpan[];
    try {
      spans = decodeTraceRequest(JSON.parse(body.toString('utf8')));
    } catch (err) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: (err as Error).message }));
      return;
    }
    this.spanCount += spans.length;
    if (!this.countOnly) this.spans.push(...spans);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }
}
