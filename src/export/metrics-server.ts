/**
 * The metrics endpoint: `/metrics` (Prometheus text, or OpenMetrics when the scraper's Accept
 * asks for it — only OpenMetrics carries exemplars), `/healthz` (the process is up), `/readyz`
 * (every source opened and read to its end once, and nothing wrong now — e.g. the checkpoint
 * saves). Every other path is 404.
 * Loopback by default: binding beyond it is an explicit choice (`--metrics-listen`).
 */
import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { hasGlob, type LogSpec, type Tailer } from '../source/tailer.js';
import { CONTENT_TYPES, type MetricsFormat, type PollscopeMetrics } from './metrics.js';
import { tlsServerOptions, withWebConfig, WebConfigWatcher, type WebConfig } from './web-config.js';

import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT, parseListen } from './metrics-listen.js';

export { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT, parseListen };

export interface MetricsServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** http://host:port, or https://host:port with a web config's TLS */
  readonly url: string;
  /** With a web config: re-reads it and its certificates when they change (every 30 s). */
  readonly webConfig: WebConfigWatcher | null;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** True once every source was opened and read to its end once. */
  ready?: () => boolean;
  /** --web-config-file: TLS and basic auth (exporter-toolkit format); absent = plain HTTP, no auth. */
  webConfig?: WebConfig | null;
  /** What is wrong now (the checkpoint cannot be saved, …), null when nothing: /readyz answers 503 with it. */
  problem?: () => string | null;
  /** More GET/HEAD routes by path (the timeline's /timeline and /timeline/data). */
  routes?: ReadonlyMap<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

/** Served without credentials under a web config's basic_auth_users, so liveness probes need no secret. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz']);

/**
 * The format a scraper asked for: OpenMetrics when its Accept ranks application/openmetrics-text
 * at least as high as text/plain (Prometheus sends OpenMetrics first), else Prometheus text.
 */
export function negotiateFormat(accept: string | undefined): MetricsFormat {
  if (!accept) return 'prometheus';
  let openmetrics = -1;
  let text = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) if (p.startsWith('q=')) q = Number(p.slice(2)) || 0;
    if (type === 'application/openmetrics-text') openmetrics = Math.max(openmetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openmetrics > 0 && openmetrics >= text ? 'openmetrics' : 'prometheus';
}

/**
 * `/readyz` for `run`: every literal --log path is open and every open file has been read up to
 * the size it had at some check (latched per file: a file that keeps growing is still "read to
 * its end once"). Glob patterns may match nothing yet; stdin has no end to reach and is not waited for.
 * Once ready, ready for good: readiness is about the start, not about keeping up (the lag gauge is).
 */
export function sourcesReadOnce(tailer: Pick<Tailer, 'openFiles'>, logs: () => readonly LogSpec[]): () => boolean {
  const caughtUp = new Set<string>();
  let ready = false;
  return () => {
    if (ready) return true;
    const open = tailer.openFiles().filter((f) => !f.draining);
    for (const spec of logs()) {
      if (!hasGlob(spec.pattern) && !open.some((f) => f.file === path.resolve(spec.pattern))) return false;
    }
    for (const f of open) {
      if (caughtUp.has(f.file)) continue;
      let size: number;
      try {
        size = statSync(f.file).size;
      } catch {
        continue;
      } // rotated away meanwhile: the next file counts
      if (f.offset < size) return false;
      caughtUp.add(f.file);
    }
    ready = true;
    return true;
  };
}

export async function startMetricsServer(
  metrics: PollscopeMetrics,
  opts: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const host = opts.host ?? DEFAULT_METRICS_HOST;
  const ready = opts.ready ?? (() => true);
  const problem = opts.problem ?? (() => null);
  // The timeline's routes sit behind the web config's auth too: they show raw log lines.
  const serve: RequestListener = (req, res) => {
    const extra = opts.routes?.get(pathOf(req.url));
    if (extra !== undefined && (req.method === 'GET' || req.method === 'HEAD')) return extra(req, res);
    handle(metrics, ready, problem, req, res);
  };
  const web = opts.webConfig ?? null;
  let watcher: WebConfigWatcher | null = null;
  const listener = web !== null ? withWebConfig(() => watcher!.config, OPEN_PATHS, serve) : serve;
  const tlsServer = web?.tls ? createTlsServer(tlsServerOptions(web.tls), listener) : null;
  const server: Server = tlsServer ?? createServer(listener);
  if (web !== null) watcher = new WebConfigWatcher(web, tlsServer);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_METRICS_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  watcher?.start(30_000);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port,
    url: `${web?.tls ? 'https' : 'http'}://${urlHost}:${port}`,
    webConfig: watcher,
    close: () =>
      new Promise<void>((resolve) => {
        watcher?.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function pathOf(url = '/'): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function handle(
  metrics: PollscopeMetrics,
  ready: () => boolean,
  problem: () => string | null,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
    return reply(res, 404, 'text/plain; charset=utf-8', 'not found: /metrics, /healthz and /readyz are served here\n');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  const head = req.method === 'HEAD';
  if (path === '/healthz') return reply(res, 200, 'text/plain; charset=utf-8', 'ok\n', head);
  if (path === '/readyz') {
    if (!ready())
      return reply(
        res,
        503,
        'text/plain; charset=utf-8',
        'not ready: a source has not been read to its end yet\n',
        head,
      );
    const wrong = problem();
    return wrong === null
      ? reply(res, 200, 'text/plain; charset=utf-8', 'ready\n', head)
      : reply(res, 503, 'text/plain; charset=utf-8', `not ready: ${wrong}\n`, head);
  }
  const format = negotiateFormat(req.headers.accept);
  metrics.render(format).then(
    (body) => reply(res, 200, CONTENT_TYPES[format], body, head),
    (err: unknown) => reply(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${(err as Error).message}\n`),
  );
}

function reply(res: ServerResponse, status: number, contentType: string, body: string, head = false): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}
