// docs/timeline.png for README: the bundled sample's timeline, zoomed to its `starved` stall
// with the stall's log lines open. `npm run build && node test/timeline/readme-screenshot.mjs`
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pollscope-shot-'));
const html = path.join(tmp, 'sample.html');
const r = spawnSync(process.execPath, ['dist/cli.js', 'replay', 'samples/relay-stall.log', '--html', html], {
  cwd: ROOT,
  encoding: 'utf8',
});
if (r.status !== 0) throw new Error(r.stderr);
const { browser, close: closeBrowser } = await launchChromium();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(pathToFileURL(html).href);
  await page.waitForFunction('window.__timeline && window.__timeline.ready');
  await page.evaluate(
    `window.__timeline.selectStall(window.__timeline.stallRegions().findIndex((s) => s.kind === 'starved'))`,
  );
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => r()))');
  await page.screenshot({ path: path.join(ROOT, 'docs', 'timeline.png') });
  console.log('wrote docs/timeline.png');
} finally {
  await closeBrowser();
  rmSync(tmp, { recursive: true, force: true });
}
