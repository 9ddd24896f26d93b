/**
 * Connection lanes of a span-based relay in a real browser (Debian's Chromium, headless):
 * `pollscope replay --json --html` on the tokio ground-truth fixture (tracing-subscriber Full,
 * FmtSpan::CLOSE). The page must have one lane per busiest connection, labelled with its id and
 * short peer, holding exactly its slow Connection::poll calls; the report's slowest polls and the
 * fixture's induced slow polls are drawn where they happened (in the slow colour); the quiet
 * stretch is drawn in the stall row but is not a stall (not in the stall list, not a stall colour).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayReport } from '../../src/export/report.js';
import { ROOT } from '../helpers.js';
import { canvasPixel, launchBrowser, screenshot, stallRegions, type TestBrowser } from './browser.js';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const FIXTURE = 'test/real-relay-tokio/fixtures/stalls.full.log';
const TRUTH = JSON.parse(readFileSync(path.join(ROOT, FIXTURE.replace(/\.log$/, '.truth.json')), 'utf8')) as {
  events: Array<{ kind: string; conn: number | null; peer: string | null; start_us: number; duration_us: number }>;
};
const SLOW = '#fab005';
const STALL_COLORS = ['#fab005', '#e03131', '#9c36b5', '#495057'];

interface Lane {
  id: string;
  kind: string;
  label: string;
  n: number;
  y0: number;
}
interface Bar {
  startNs: number;
  endNs: number;
  code: number;
  x0: number;
  x1: number;
  y: number;
}
interface QuietRegion {
  start: string;
  startNs: number;
  endNs: number;
  durationNs: number;
  openConnections: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  visible: boolean;
}

let browser: TestBrowser;
let out: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is not built: run `npm run build` first');
  out = mkdtempSync(path.join(os.tmpdir(), 'pollscope-timeline-conn-'));
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

/** A report time (ISO, any fraction digits) as ns after the page's origin second. */
function relNs(iso: string, originSec: number): number {
  const m = /^(.{19})(?:\.(\d+))?Z$/.exec(iso)!;
  const frac = m[2] ? Number((m[2] + '000000000').slice(0, 9)) : 0;
  return (Date.parse(m[1] + 'Z') / 1000 - originSec) * 1e9 + frac;
}

describe('connection lanes in Chromium (tokio fixture)', () => {
  it('the busiest connections get lanes with their slow polls, drawn where the report and the truth say; the quiet stretch is not a stall', async () => {
    const html = path.join(out, 'tokio.html');
    const r = spawnSync(process.execPath, [CLI, 'replay', FIXTURE, '--json', '--html', html], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ReplayReport;
    const conns = report.connections!;
    expect(conns).not.toBeNull();

    const { page, errors } = await browser.open(pathToFileURL(html).href);
    const data = (await page.evaluate('window.__timeline.data()')) as { originSec: number };
    const lanes = (await page.evaluate('window.__timeline.lanes()')) as Lane[];
    const connLanes = lanes.filter((l) => l.kind === 'conn');
    // One lane per connection with a slow poll (8 connections, under the lane limit: no "others"
    // lane), busiest first, each holding exactly that connection's slow polls.
    const withSlow = conns.topByBusy.filter((c) => c.slowPolls > 0);
    expect(connLanes.map((l) => l.id)).toEqual(withSlow.map((c) => `conn:${c.id}`));
    for (const c of withSlow) {
      const lane = connLanes.find((l) => l.id === `conn:${c.id}`)!;
      expect(lane.label).toBe(`conn ${c.id} · ${c.peer!.slice(0, 4)}…${c.peer!.slice(-6)}`);
      expect(lane.n).toBe(c.slowPolls);
    }
    // A connection open at the end is marked on its own lane (the model's unfinished list), not on the swarm's.
    const open = (await page.evaluate('window.__timeline.unfinished()')) as Array<{ lane: string; what: string }>;
    expect(open.filter((u) => u.what === 'connection').map((u) => u.lane)).toEqual(
      report.unfinished
        .filter((u) => u.what === 'connection')
        .map((u) => `conn:${/^connection (\S+)/.exec(u.detail)![1]}`),
    );
    // The swarm's own poll cycles keep their lane above the connections.
    expect(lanes.filter((l) => l.kind === 'poll').reduce((n, l) => n + l.n, 0)).toBe(report.pollCycles.count);
    expect(lanes.findIndex((l) => l.kind === 'conn')).toBeGreaterThan(lanes.findIndex((l) => l.kind === 'poll'));

    // The report's slowest Connection::poll calls: a bar on their connection's lane at their start,
    // as long as their busy time (+ tracing's idle, ≤ a few µs), in the slow colour when zoomed to it.
    const listed = conns.slowPolls.list.filter((s) => s.span === 'Connection::poll' && s.busyNs > 1e6);
    expect(listed.length).toBeGreaterThanOrEqual(6);
    const bars = (id: string, a: number, b: number) =>
      page.evaluate(`window.__timeline.bars(${JSON.stringify(id)}, ${a}, ${b})`) as Promise<Bar[]>;
    for (const s of listed) {
      const at = relNs(s.start, data.originSec);
      await page.evaluate(`window.__timeline.setView(${at - s.busyNs}, ${at + 2 * s.busyNs})`);
      // start = close − busy − idle has sub-µs digits: the report prints it cut to µs, the page rounds it.
      const found = (await bars(`conn:${s.connection}`, at - 1000, at + 1000)).filter(
        (b) => Math.abs(b.startNs - at) <= 1000,
      );
      expect(found, `${s.start} ${s.at}`).toHaveLength(1);
      const bar = found[0];
      expect(bar.code).toBe(0); // slow, not blocked
      expect(bar.endNs - bar.startNs - s.busyNs).toBeGreaterThanOrEqual(-1000);
      expect(bar.endNs - bar.startNs - s.busyNs).toBeLessThan(20_000);
      expect(await canvasPixel(page, (bar.x0 + bar.x1) / 2, bar.y)).toBe(SLOW);
    }
    // Each induced slow poll of the truth: on its connection's lane, start within 1 ms, duration within 2 %.
    const induced = TRUTH.events.filter((e) => e.kind === 'slow_connection_poll');
    expect(induced.length).toBeGreaterThanOrEqual(6);
    for (const e of induced) {
      const c = conns.topByBusy.find((x) => x.peer === e.peer)!;
      const at = (e.start_us / 1e6 - data.originSec) * 1e9;
      const near = (await bars(`conn:${c.id}`, at - 1e6, at + 1e6)).filter((b) => Math.abs(b.startNs - at) <= 1e6);
      expect(near.length, `${e.kind} at ${e.start_us}`).toBe(1);
      expect(Math.abs(near[0].endNs - near[0].startNs - e.duration_us * 1000)).toBeLessThanOrEqual(
        e.duration_us * 1000 * 0.02,
      );
    }

    // The quiet stretch: drawn in the stall row, listed apart, never a stall.
    await page.evaluate('window.__timeline.setView(window.__timeline.data().startNs, window.__timeline.data().endNs)');
    const quiet = (await page.evaluate('window.__timeline.quietRegions()')) as QuietRegion[];
    expect(quiet.map((q) => [q.start, q.durationNs, q.openConnections])).toEqual(
      conns.quiet.list.map((q) => [q.start, q.durationNs, q.openConnections]),
    );
    expect(quiet.length).toBeGreaterThan(0);
    const stalls = await stallRegions(page);
    expect(stalls.map((s) => [s.kind, s.start])).toEqual(report.stalls.list.map((s) => [s.kind, s.start]));
    for (const q of quiet) {
      expect(q.visible).toBe(true);
      expect(stalls.some((s) => s.startNs === q.startNs)).toBe(false);
      // Hatched grey, not filled in a stall colour: some pixel across its strip is the hatch, none a stall's.
      const strip: string[] = [];
      for (let x = Math.ceil(q.x0) + 2; x < q.x1 - 2; x += 1) strip.push(await canvasPixel(page, x, (q.y0 + q.y1) / 2));
      const grey = (p: string) => {
        const [r, g, b] = [1, 3, 5].map((i) => parseInt(p.slice(i, i + 2), 16));
        return r < 0xf0 && Math.max(r, g, b) - Math.min(r, g, b) < 24; // antialiased hatch lines
      };
      expect(strip.filter(grey).length).toBeGreaterThan(strip.length / 10);
      expect(strip.some((p) => STALL_COLORS.includes(p))).toBe(false);
    }
    const aside = (await page.evaluate('document.getElementById("quiet").textContent')) as string;
    expect(aside).toContain('not a stall');
    expect((await page.evaluate('document.getElementById("stalls").textContent')) as string).not.toContain('quiet');
    await screenshot(page, 'timeline-tokio-connections.png');

    expect(errors).toEqual([]);
    expect(await page.evaluate('window.__timeline.errors')).toEqual([]);
    await page.close();
  }, 120_000);
});
