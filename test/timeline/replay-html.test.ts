/**
 * `pollscope replay FILE --html OUT` in a real browser (Debian's Chromium, headless): for the
 * seed excerpt, the bundled sample and a real-crate fixture, the page opened from disk must draw
 * each stall of the report (`--json`) at its time range, show the right log lines (file:line)
 * when the stall is clicked, zoom and pan, keep the range in the URL fragment, and log no error.
 * Screenshots go to test-results/ for a person to look at.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogFile } from '../../src/bench/generate.js';
import type { ReplayReport } from '../../src/export/report.js';
import { ROOT } from '../helpers.js';
import {
  BROWSER_WAIT_MS,
  canvasPixel,
  launchBrowser,
  nextFrame,
  screenshot,
  selected,
  stallRegions,
  view,
  type StallRegion,
  type TestBrowser,
} from './browser.js';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const STALL_COLOR: Record<string, string> = {
  slow_poll: '#fab005',
  blocked_poll: '#e03131',
  starved: '#9c36b5',
  silent: '#495057',
};

let browser: TestBrowser;
let out: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is not built: run `npm run build` first');
  out = mkdtempSync(path.join(os.tmpdir(), 'pollscope-timeline-'));
  browser = await launchBrowser();
}, 2 * BROWSER_WAIT_MS);
afterAll(async () => {
  await browser?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

/** Runs the CLI from the repository root (paths in the report stay relative, e.g. samples/…). */
function replayHtml(file: string, name: string): { report: ReplayReport; html: string } {
  const html = path.join(out, `${name}.html`);
  const r = spawnSync(process.execPath, [CLI, 'replay', file, '--json', '--html', html], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  expect(r.status, r.stderr).toBe(0);
  return { report: JSON.parse(r.stdout) as ReplayReport, html };
}

/** A report time (ISO, any fraction digits) as ns after the page's origin second. */
function relNs(iso: string, originSec: number): number {
  const m = /^(.{19})(?:\.(\d+))?Z$/.exec(iso)!;
  const sec = Date.parse(m[1] + 'Z') / 1000;
  const frac = m[2] ? Number((m[2] + '000000000').slice(0, 9)) : 0;
  return (sec - originSec) * 1e9 + frac;
}

const CASES: Array<{ name: string; file: string; generate?: number }> = [
  { name: 'seed-excerpt', file: 'samples/relay_v2-excerpt.log' },
  { name: 'bundled-sample', file: 'samples/relay-stall.log' },
  { name: 'real-crate-stalls', file: 'test/real-relay/fixtures/stalls.env-micros.log' },
  // Thousands of bars per lane: zoomed out, the lanes are drawn from the density pyramid.
  { name: 'generated-150k', file: '', generate: 150_000 },
];

describe('replay --html in Chromium', () => {
  for (const c of CASES) {
    it(`${c.generate ? `generated log of ${c.generate} lines` : c.file}: every stall of the report drawn at its time range, its log lines on click, zoom, no error`, async () => {
      if (c.generate) {
        c.file = path.join(out, `${c.name}.log`);
        generateLogFile(c.file, { envelope: 'e3-micros', lines: c.generate, seed: 7 });
      }
      const { report, html } = replayHtml(c.file, c.name);
      const size = statSync(html).size;
      expect(size).toBeGreaterThan(10_000);
      const text = readFileSync(html, 'utf8');
      // Self-contained: nothing is fetched (the page's CSP forbids it, and no src=/href= points out).
      expect(text).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);

      const { page, errors } = await browser.open(pathToFileURL(html).href);
      const data = (await page.evaluate('window.__timeline.data()')) as { originSec: number };
      const lanes = (await page.evaluate('window.__timeline.lanes()')) as Array<{
        kind: string;
        n: number;
        mode: string;
        densitySource: string | null;
      }>;
      // Lanes: the log's epoll fds and poll threads, only those it has.
      expect(lanes.filter((l) => l.kind === 'wait').reduce((n, l) => n + l.n, 0)).toBe(report.waits.count);
      expect(lanes.filter((l) => l.kind === 'poll').reduce((n, l) => n + l.n, 0)).toBe(report.pollCycles.count);
      if (report.waits.count === 0) expect(lanes.some((l) => l.kind === 'wait')).toBe(false);
      if (c.generate) {
        expect(report.stalls.list.length).toBeGreaterThan(0);
        expect(lanes.map((l) => [l.mode, l.densitySource])).toEqual(lanes.map(() => ['density', 'pyramid']));
      }

      // Every stall of the report, drawn where the report puts it.
      const regions = await stallRegions(page);
      expect(regions.map((r) => [r.kind, r.start, r.end, r.at])).toEqual(
        report.stalls.list.map((s) => [s.kind, s.start, s.end, s.at]),
      );
      const plot = (await page.evaluate('window.__timeline.plot()')) as {
        left: number;
        width: number;
        stallTop: number;
        stallHeight: number;
      };
      const v = await view(page);
      for (let i = 0; i < regions.length; i++) {
        const r = regions[i];
        const s = report.stalls.list[i];
        expect(r.startNs).toBe(relNs(s.start, data.originSec));
        expect(r.endNs).toBe(relNs(s.end, data.originSec));
        // Pixel coordinates follow from the visible range; the stall strip has the kind's colour there.
        const expectX0 = plot.left + ((r.startNs - v.startNs) / v.spanNs) * plot.width;
        if (r.x1 - r.x0 > 3) expect(Math.abs(r.x0 - expectX0)).toBeLessThan(0.01);
        expect(r.visible).toBe(true);
        expect(await canvasPixel(page, (r.x0 + r.x1) / 2, plot.stallTop + plot.stallHeight / 2)).toBe(
          STALL_COLOR[r.kind],
        );
      }
      await screenshot(page, `timeline-${c.name}.png`);

      // Clicking a stall on the canvas zooms to it and shows its lines, its own line marked with file:line.
      const fileLines = readFileSync(path.resolve(ROOT, c.file), 'utf8').split('\n');
      for (let i = 0; i < regions.length; i++) {
        await page.evaluate(
          'window.__timeline.setView(window.__timeline.data().startNs, window.__timeline.data().endNs)',
        );
        const r = (await stallRegions(page))[i];
        await page.mouse.click((r.x0 + r.x1) / 2, r.y0 + 40);
        const sel = await selected(page);
        expect(sel?.index).toBe(i);
        const lineNo = Number(report.stalls.list[i].at.split(':').pop());
        expect(sel?.hit).toBe(`${c.file}:${lineNo}  ${fileLines[lineNo - 1]}`);
        expect(sel?.text).toContain(`${c.file}:${lineNo - 1}  ${fileLines[lineNo - 2]}`);
        expect(sel?.text).toContain(report.stalls.list[i].detail);
        const zoomed = await view(page);
        const s: StallRegion = (await stallRegions(page))[i];
        expect(zoomed.startNs).toBeLessThanOrEqual(s.startNs);
        expect(zoomed.endNs).toBeGreaterThanOrEqual(s.endNs);
        expect(zoomed.spanNs).toBeLessThan(v.spanNs);
        if (c.generate) {
          // The modes are those of the last frame drawn: the click only scheduled the zoomed one.
          await nextFrame(page);
          const zl = (await page.evaluate('window.__timeline.lanes()')) as Array<{ mode: string }>;
          expect(zl.map((l) => l.mode)).toEqual(zl.map(() => 'bars'));
        }
      }
      if (regions.length > 0) await screenshot(page, `timeline-${c.name}-stall.png`);

      // Zoom: keyboard, wheel, drag-pan and the overview brush change the visible range.
      await page.evaluate(
        'window.__timeline.setView(window.__timeline.data().startNs, window.__timeline.data().endNs)',
      );
      const before = await view(page);
      await page.focus('#cv');
      await page.keyboard.press('+');
      const afterKey = await view(page);
      expect(afterKey.spanNs).toBeCloseTo(before.spanNs / 2, -1);
      await page.mouse.move(plot.left + plot.width / 2, plot.stallTop + 60);
      await page.mouse.wheel({ deltaY: -400 });
      await page.waitForFunction(`window.__timeline.view().spanNs < ${afterKey.spanNs * 0.9}`);
      const afterWheel = await view(page);
      await page.mouse.down();
      await page.mouse.move(plot.left + plot.width / 2 - 200, plot.stallTop + 60, { steps: 5 });
      await page.mouse.up();
      const afterDrag = await view(page);
      expect(afterDrag.spanNs).toBeCloseTo(afterWheel.spanNs, -1);
      expect(afterDrag.startNs).toBeGreaterThan(afterWheel.startNs);
      // Down to microseconds.
      for (let k = 0; k < 40; k++) await page.keyboard.press('+');
      expect((await view(page)).spanNs).toBeLessThanOrEqual(1000);
      const ovBox = (await (await page.$('#ov'))!.boundingBox())!;
      await page.mouse.move(ovBox.x + ovBox.width * 0.25, ovBox.y + 20);
      await page.mouse.down();
      await page.mouse.move(ovBox.x + ovBox.width * 0.5, ovBox.y + 20, { steps: 4 });
      await page.mouse.up();
      const brushed = await view(page);
      const full = (await page.evaluate('window.__timeline.data()')) as { startNs: number; endNs: number };
      expect(brushed.spanNs).toBeGreaterThan((full.endNs - full.startNs) * 0.2);
      expect(brushed.spanNs).toBeLessThan((full.endNs - full.startNs) * 0.3);

      // The range is in the URL fragment; opening that URL shows the same range.
      await page.waitForFunction('location.hash === window.__timeline.fragment()');
      const url = page.url();
      const again = await browser.open(url);
      const reopened = await view(again.page);
      expect(reopened.startNs).toBeCloseTo(brushed.startNs, -1);
      expect(reopened.endNs).toBeCloseTo(brushed.endNs, -1);
      await again.page.close();

      expect(errors).toEqual([]);
      expect(await page.evaluate('window.__timeline.errors')).toEqual([]);
      await page.close();
      // Generating and replaying 150k lines, then Chromium loading the page: slow on a loaded machine.
    }, 240_000);
  }
});
