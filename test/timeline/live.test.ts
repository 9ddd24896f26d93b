/**
 * The daemon's `/timeline` in Chromium: a relay stand-in (test/live/replayer.mjs, its own
 * process) writes the bundled sample's lines stamped with the wall clock, then goes silent right
 * after a wake. The page, open on a live `pollscope run`, must show the stall while it happens
 * (before the writer resumes), then the closed stall with its log lines, with no console error.
 * The writer stays silent until the test has seen the stall (then signals it to resume): on a
 * loaded machine a fixed silence could end before the daemon and the page got to it.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../helpers.js';
import { killAll, requireBuild, runDaemon, stopDaemon, tempDir } from '../live/support.js';
import {
  BROWSER_WAIT_MS,
  launchBrowser,
  screenshot,
  selected,
  stallRegions,
  type StallRegion,
  type TestBrowser,
} from './browser.js';

const SAMPLE = path.join(ROOT, 'samples', 'relay-stall.log');
const REPLAYER = path.join(ROOT, 'test', 'live', 'replayer.mjs');
/** Line 144 of the sample: `wait: running epoll_fd=4, events.len=1` — epoll_wait returned (a wake). */
const WAKE_LINE = 144;
/** The silence lasts at least this long (as it did when it was a fixed pause), and until the page showed it. */
const MIN_PAUSE_MS = 6000;

let browser: TestBrowser;
let cleanup: (() => void) | null = null;
beforeAll(async () => {
  requireBuild();
  browser = await launchBrowser();
}, 2 * BROWSER_WAIT_MS);
afterAll(async () => {
  await browser?.close();
});
afterEach(() => {
  killAll();
  cleanup?.();
  cleanup = null;
});

describe('pollscope run: /timeline', () => {
  it(
    'shows a stall while it happens, then its log lines once it ended',
    async () => {
      const t = tempDir();
      cleanup = t.cleanup;
      const log = path.join(t.dir, 'relay.log');
      writeFileSync(log, '');
      const port = await freePort();
      const d = await runDaemon(
        [
          '--log',
          log,
          '--checkpoint',
          path.join(t.dir, 'cp.json'),
          '--metrics-listen',
          `127.0.0.1:${port}`,
          '--timeline-window',
          '300s',
        ],
        t.dir,
      );
      await d.waitForLine(/metrics on http:\/\/127\.0\.0\.1:\d+/);
      // The writer: its events (paused / resumed / done) with the time they reached us.
      const events: Array<{ event: string; at: number }> = [];
      const writer = spawn(
        process.execPath,
        [
          REPLAYER,
          JSON.stringify({
            sample: SAMPLE,
            out: log,
            from: 1,
            to: 260,
            rate: 1000,
            pauseAfter: WAKE_LINE,
            resumeOn: 'SIGUSR2',
          }),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      writer.stdout.setEncoding('utf8');
      writer.stdout.on('data', (chunk: string) => {
        for (const l of chunk.trim().split('\n'))
          events.push({ ...(JSON.parse(l) as { event: string }), at: Date.now() });
      });
      const writerDone = new Promise<number | null>((resolve) => writer.on('exit', resolve));
      try {
        const { page, errors } = await browser.open(`http://127.0.0.1:${port}/timeline`);
        // The stall, while the relay is silent: drawn as an active region and listed "in progress".
        await page.waitForFunction('window.__timeline.stallRegions().some((s) => s.active)', { polling: 100 });
        const seenAt = Date.now();
        const active = (await stallRegions(page)).find((s) => s.active)!;
        const started = await d.waitForLine(/stall started: (\w+) /);
        expect(started.text).toContain(`stall started: ${active.kind} `);
        expect(events.some((e) => e.event === 'paused')).toBe(true);
        expect(events.some((e) => e.event === 'resumed')).toBe(false);
        expect(seenAt).toBeGreaterThan(events.find((e) => e.event === 'paused')!.at);
        expect(active.visible).toBe(true);
        expect(await page.$eval('#stalls', (el) => el.textContent)).toContain('(in progress)');
        await screenshot(page, 'timeline-live-active-stall.png');

        // Resume the writer (the silence was seen; it lasts MIN_PAUSE_MS at least, as before).
        const pausedAt = events.find((e) => e.event === 'paused')!.at;
        const rest = pausedAt + MIN_PAUSE_MS - Date.now();
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        process.kill(writer.pid!, 'SIGUSR2');
        // After the writer resumed: the closed stall (the model's), with its lines on click.
        const kind = active.kind;
        await page.waitForFunction(
          `window.__timeline.stallRegions().some((s) => !s.active && s.kind === ${JSON.stringify(kind)})`,
          { polling: 200 },
        );
        expect(await writerDone).toBe(0);
        const regions = await stallRegions(page);
        const i = regions.findIndex((s: StallRegion) => !s.active && s.kind === kind);
        await page.evaluate(`window.__timeline.selectStall(${i})`);
        const sel = await selected(page);
        const at = regions[i].at;
        const file = at.slice(0, at.lastIndexOf(':'));
        const lineNo = Number(at.slice(at.lastIndexOf(':') + 1));
        expect(path.resolve(t.dir, file)).toBe(log);
        const fileLines = readFileSync(log, 'utf8').split('\n');
        expect(sel?.hit).toBe(`${file}:${lineNo}  ${fileLines[lineNo - 1]}`);
        await screenshot(page, 'timeline-live-stall-ended.png');
        expect(errors).toEqual([]);
        await page.close();
      } finally {
        if (writer.exitCode === null && writer.pid !== undefined) process.kill(writer.pid, 'SIGKILL');
      }
      expect(await stopDaemon(d)).toBe(0);
    },
    4 * BROWSER_WAIT_MS,
  );
});
