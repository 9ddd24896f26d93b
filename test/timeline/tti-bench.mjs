// Timeline page benchmark (not a timed test): `npm run bench:timeline [-- --runs N] [--synthetic BARS]`.
// 1. the 3M-line bench log (bench-data/e3-micros-3000000.log, generated as `npm run bench` does when
//    missing) → `pollscope replay --html`: HTML size, and the replay's wall time with and without --html;
// 2. Chromium (headless, Debian's) opens the file N times: time from navigation start until the page is
//    interactive (data decoded, first frame drawn: window.__timeline.ready), and the time to redraw
//    at the whole range (density view) and zoomed in;
// 3. --synthetic BARS: the same for a page with BARS waits + BARS polls made in-process (a log far denser
//    in waits than the generated one), to show where the budget ends.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium } from './chromium.mjs';
import { syntheticPoll, syntheticWait } from './synthetic-observations.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const LOG = path.join(ROOT, 'bench-data', 'e3-micros-3000000.log');
const { values: v } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, synthetic: { type: 'string' } },
});
const runs = Number(v.runs);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pollscope-tti-'));

if (!existsSync(CLI)) throw new Error('run `npm run build` first');
if (!existsSync(LOG)) {
  process.stderr.write(`generating ${path.relative(ROOT, LOG)} … `);
  mkdirSync(path.dirname(LOG), { recursive: true });
  const { generateLogFile } = await import(pathToFileURL(path.join(ROOT, 'dist', 'bench', 'generate.js')).href);
  generateLogFile(LOG, { envelope: 'e3-micros', lines: 3_000_000, seed: 1 });
  process.stderr.write('done\n');
}

function timeReplay(extra) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, 'replay', LOG, '--json', ...extra], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const pages = [];
const html = path.join(tmp, 'e3-micros-3M.html');
const plain = timeReplay([]);
const withHtml = timeReplay(['--html', html]);
pages.push({ name: 'e3-micros 3M lines', file: html, replaySec: withHtml, replayPlainSec: plain });

if (v.synthetic) {
  const { TimelineSink } = await import(pathToFileURL(path.join(ROOT, 'dist', 'export', 'timeline.js')).href);
  const { renderTimelineHtml } = await import(
    pathToFileURL(path.join(ROOT, 'dist', 'export', 'timeline-html.js')).href
  );
  const n = Number(v.synthetic);
  const sink = new TimelineSink();
  const pos = { file: 'synthetic', line: 1, offset: 0 };
  let now = 0;
  for (let i = 0; i < n; i++) {
    const w = 1000 * (1 + ((i * 7919) % 20000)); // 1 µs … 20 ms
    const reason = i % 5 ? 'io' : 'timeout';
    sink.wait(syntheticWait(now, w, { endAfterWakeNs: 5000, timeoutNs: i % 3 ? w * 2 : null, reason, pos }));
    now += w + 10_000;
    const p = 1000 * (1 + ((i * 104729) % 900));
    sink.pollCycle(syntheticPoll(now, p, i % 4 === 0, pos));
    now += p + 10_000;
  }
  const file = path.join(tmp, 'synthetic.html');
  writeFileSync(file, renderTimelineHtml(sink.data([['synthetic', `${n} waits + ${n} polls`]], 'synthetic')));
  pages.push({ name: `synthetic ${n} waits + ${n} polls`, file });
}

const { browser, close: closeBrowser } = await launchChromium();
const fmt = (a) =>
  `median ${median(a).toFixed(0)} ms (min ${Math.min(...a).toFixed(0)}, max ${Math.max(...a).toFixed(0)})`;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  for (const p of pages) {
    const tti = [];
    const script = [];
    const drawFull = [];
    const drawZoom = [];
    for (let r = 0; r < runs; r++) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1400, height: 820 });
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(p.file).href);
      await page.waitForFunction('window.__timeline && window.__timeline.ready', { timeout: 60_000, polling: 'raf' });
      // performance.now() counts from navigation start: HTML read and parsed, data decoded, first frame drawn.
      tti.push(await page.evaluate('window.__timeline.sinceNavigationMs'));
      script.push(await page.evaluate('window.__timeline.timeToInteractiveMs'));
      const frames = await page.evaluate(`(() => {
        const t = window.__timeline, d = t.data(), out = {};
        const time = (a, b) => { const t0 = performance.now(); for (let i = 0; i < 20; i++) t.setView(a + i, b + i); return (performance.now() - t0) / 20; };
        out.full = time(d.startNs, d.endNs);
        const mid = (d.startNs + d.endNs) / 2;
        out.zoom = time(mid, mid + 2e9);
        return out;
      })()`);
      drawFull.push(frames.full);
      drawZoom.push(frames.zoom);
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      await page.close();
    }
    const size = statSync(p.file).size;
    console.log(
      `${p.name}: HTML ${(size / 1e6).toFixed(2)} MB` +
        (p.replaySec ? `; replay ${p.replayPlainSec.toFixed(1)} s, with --html ${p.replaySec.toFixed(1)} s` : ''),
    );
    console.log(
      `  interactive after (navigation start → first frame drawn): ${fmt(tti)}; of which the page script ${fmt(script)}`,
    );
    console.log(
      `  redraw at the whole range (density): ${fmt(drawFull)}; zoomed to 2 s: ${fmt(drawZoom)}  [${runs} runs]`,
    );
  }
} finally {
  await closeBrowser();
  rmSync(tmp, { recursive: true, force: true });
}
