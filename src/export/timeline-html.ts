/**
 * The timeline page: one self-contained HTML document (style, script and data inline; a
 * Content-Security-Policy that allows no network but the live page's own JSON endpoint).
 * `replay --html` writes it with the data inside; the daemon's `/timeline` serves it without
 * data and the page polls `/timeline/data` (timelineRoutes).
 */
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReplayReport } from './report.js';
import type { DistributionSummary } from './quantiles.js';
import { STALL_KINDS } from '../reactor/observations.js';
import { formatDuration, type LogTime } from '../time.js';
import { PAGE_CSS, PAGE_JS } from './timeline-page.js';
import { reasonText, type SummaryRow, type TimelineData, type TimelineSink } from './timeline.js';

export interface LivePageConfig {
  dataUrl: string;
  refreshMs: number;
}

/** `<` and friends escaped so that no data can close the script element it sits in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

/** The page, with its data inline (replay) or with the live endpoint to poll. */
export function renderTimelineHtml(data: TimelineData | null, live: LivePageConfig | null = null): string {
  const title = data?.title ?? 'live';
  const csp = live
    ? "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"
    : "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pollscope timeline — ${escapeHtml(title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>pollscope timeline: <span id="title">${escapeHtml(title)}</span></h1>
<span id="toolbar"><button id="zin" title="zoom in (+)">+</button><button id="zout" title="zoom out (-)">−</button><button id="zall" title="whole log (0)">all</button></span>
<span id="range"></span>
${live ? '<span id="livestate" class="live">live · connecting</span>' : '<span id="livestate"></span>'}
</header>
<details id="summary" open><summary>Summary</summary><table id="summary-table"></table></details>
<div id="main">
<div id="chartbox">
<canvas id="cv" tabindex="0"></canvas>
<canvas id="ov" title="the whole log: drag to choose a range, drag the box to move it"></canvas>
<div id="hint">wheel: zoom · drag: pan · shift+wheel: pan · keys + − ← → 0, n/p next/previous stall · click a stall for its log lines</div>
<div id="details"></div>
</div>
<aside>
<div class="legend" id="legend"></div>
<h2>Stalls <span id="stall-counts"></span></h2>
<ul id="stalls"></ul>
<div id="quiet-section" style="display:none"><h2>Quiet stretches <span id="quiet-count"></span></h2><ul id="quiet" class="quiet"></ul></div>
</aside>
</div>
<div id="tooltip"></div>
<script id="timeline-config" type="application/json">${scriptJson({ live })}</script>
<script id="timeline-data" type="application/json">${scriptJson(data)}</script>
<script>${PAGE_JS}</script>
</body>
</html>
`;
}

const d = (ns: number | null | undefined): string => (ns === null || ns === undefined ? '—' : formatDuration(ns));

function dist(s: DistributionSummary | null): string {
  if (s === null) return 'none';
  return `n=${s.count}  p50 ${d(s.p50Ns)}  p90 ${d(s.p90Ns)}  p99 ${d(s.p99Ns)}  max ${d(s.maxNs)}`;
}

/** The replay report's summary, as rows for the page. */
export function reportSummaryRows(r: ReplayReport): SummaryRow[] {
  const total = r.lines.decoded + r.lines.ignored + r.lines.malformed + r.lines.oversize;
  const rows: SummaryRow[] = [];
  for (const f of r.files) {
    rows.push([
      'file',
      `${f.path}: ${f.lines} lines, ${f.envelope ?? 'no known layout'}` +
        (f.firstTime ? `, ${f.firstTime} … ${f.lastTime}` : ''),
    ]);
  }
  rows.push([
    'lines',
    `${total}: decoded ${r.lines.decoded}, ignored ${r.lines.ignored}, malformed ${r.lines.malformed}, oversize ${r.lines.oversize}`,
  ]);
  rows.push(['epoll waits', `${r.waits.count}; latency (start → wake) ${dist(r.waits.latency)}`]);
  rows.push(['wakeups by reason', reasonText(r.wakeups)]);
  rows.push([
    'swarm poll cycles',
    `${r.pollCycles.count} (ready ${r.pollCycles.ready}, pending ${r.pollCycles.pending}` +
      (r.pollCycles.unknown ? `, not logged ${r.pollCycles.unknown}` : '') +
      `); duration ${dist(r.pollCycles.duration)}`,
  ]);
  rows.push(['wake → poll delay', dist(r.wakeToPoll)]);
  rows.push(['stalls', STALL_KINDS.map((k) => `${k} ${r.stalls.counts[k]}`).join(', ')]);
  const c = r.connections;
  if (c !== null) {
    const conn = c.polls['Connection::poll'];
    rows.push([
      'connections',
      `${c.seen} seen: established ${c.established}, closed ${c.closed}, open at end ${c.openAtEnd}; ` +
        `Connection::poll ${conn ? `n=${conn.count}, slow ${conn.slow}` : 'none'}`,
    ]);
    rows.push(['quiet stretches', `${c.quiet.count} (connections open, nothing logged: not stalls)`]);
  }
  for (const u of r.unfinished) rows.push(['unfinished', `${u.what} since ${u.since} (${u.at}): ${u.detail}`]);
  for (const w of r.warnings) rows.push(['warning', w]);
  return rows;
}

/** `replay --html OUT`: the page for what the sink collected, with the report's summary. */
export async function writeTimelineHtml(path: string, sink: TimelineSink, report: ReplayReport): Promise<number> {
  const title = report.files.map((f) => f.path).join(', ');
  // The axis spans the whole log, also lines before the first observation and after the last.
  for (const f of report.files) {
    for (const iso of [f.firstTime, f.lastTime]) {
      const t = iso === null ? null : parseIsoTime(iso);
      if (t) sink.cover(t);
    }
  }
  const html = renderTimelineHtml(sink.data(reportSummaryRows(report), title));
  await writeFile(path, html);
  return Buffer.byteLength(html);
}

/** formatTime's ISO text back to a LogTime (the report keeps times as text). */
function parseIsoTime(iso: string): LogTime | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(iso);
  if (!m) return null;
  const frac = m[2] ?? '';
  return { sec: Date.parse(m[1] + 'Z') / 1000, nsec: Number(frac.padEnd(9, '0') || 0), digits: frac.length };
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The live routes for the metrics listener: `/timeline` (the page; `?relay=NAME` picks a relay,
 * default the first) and `/timeline/data` (its JSON, polled every refreshMs while open).
 */
export function timelineRoutes(
  timelines: () => ReadonlyMap<string, TimelineSink>,
  refreshMs = 2000,
): Map<string, RouteHandler> {
  const pick = (req: IncomingMessage): { relay: string; sink: TimelineSink } | null => {
    const relay = new URL(req.url ?? '/', 'http://x').searchParams.get('relay');
    const all = timelines();
    if (relay !== null) {
      const sink = all.get(relay);
      return sink ? { relay, sink } : null;
    }
    const first = all.entries().next();
    return first.done ? null : { relay: first.value[0], sink: first.value[1] };
  };
  const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(head ? undefined : body);
  };
  return new Map<string, RouteHandler>([
    [
      '/timeline',
      (req, res) => {
        const relay = new URL(req.url ?? '/', 'http://x').searchParams.get('relay');
        const dataUrl = '/timeline/data' + (relay !== null ? `?relay=${encodeURIComponent(relay)}` : '');
        send(
          res,
          200,
          'text/html; charset=utf-8',
          renderTimelineHtml(null, { dataUrl, refreshMs }),
          req.method === 'HEAD',
        );
      },
    ],
    [
      '/timeline/data',
      (req, res) => {
        const p = pick(req);
        if (p === null) {
          const names = [...timelines().keys()];
          return send(
            res,
            404,
            'text/plain; charset=utf-8',
            names.length ? `no relay by that name; relays: ${names.join(', ')}\n` : 'no relay has logged yet\n',
            req.method === 'HEAD',
          );
        }
        const others = [...timelines().keys()].filter((n) => n !== p.relay);
        const summary = p.sink.summaryRows();
        if (others.length) summary.push(['other relays', others.map((n) => `?relay=${n}`).join(', ')]);
        send(res, 200, 'application/json', JSON.stringify(p.sink.data(summary, p.relay)), req.method === 'HEAD');
      },
    ],
  ]);
}
