/**
 * Headless Chromium for the browser tests (launched by chromium.mjs): one browser per test file,
 * a fresh profile directory each time, and every console error / page error of each page collected.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { ROOT } from '../helpers.js';
import { launchChromium } from './chromium.mjs';

export const RESULTS = path.join(ROOT, 'test-results');

export interface TestBrowser {
  browser: Browser;
  open(url: string): Promise<TestPage>;
  close(): Promise<void>;
}

export interface TestPage {
  page: Page;
  /** Console errors, page errors and failed requests seen so far. */
  errors: string[];
}

/**
 * Deadline of every wait on the browser (launch, navigation, the page becoming ready, waitForFunction):
 * reached only when something is wrong; a loaded machine (a CPU hog beside the suite) makes Chromium
 * slow to start and to load a big page, and puppeteer's default 30 s is not generous there.
 */
export const BROWSER_WAIT_MS = 90_000;

export async function launchBrowser(): Promise<TestBrowser> {
  const { browser, close } = await launchChromium({ timeout: BROWSER_WAIT_MS, protocolTimeout: 2 * BROWSER_WAIT_MS });
  return {
    browser,
    async open(url) {
      const page = await browser.newPage();
      page.setDefaultTimeout(BROWSER_WAIT_MS);
      page.setDefaultNavigationTimeout(BROWSER_WAIT_MS);
      await page.setViewport({ width: 1400, height: 820 });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`pageerror: ${(e as Error).message}`));
      page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
      await page.goto(url);
      await page.waitForFunction('window.__timeline && window.__timeline.ready === true');
      return { page, errors };
    },
    close,
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, name);
  await page.screenshot({ path: file });
  return file;
}

/** What window.__timeline reports (the page's read-only inspection API). */
export interface StallRegion {
  kind: string;
  start: string;
  end: string;
  startNs: number;
  endNs: number;
  at: string;
  active: boolean;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  visible: boolean;
}

export interface View {
  startNs: number;
  endNs: number;
  spanNs: number;
  start: string;
  end: string;
}

/**
 * Resolves once the page has drawn its next animation frame. The page draws on
 * requestAnimationFrame (a click, a key or the wheel only schedule a frame), and what a frame
 * decided (each lane's mode: bars or density) is known only after it; callbacks run in the order
 * they were requested, so ours runs after the frame the page scheduled before.
 */
export async function nextFrame(p: Page): Promise<void> {
  await p.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(true)))');
}

export const view = (p: Page): Promise<View> => p.evaluate('window.__timeline.view()') as Promise<View>;
export const stallRegions = (p: Page): Promise<StallRegion[]> =>
  p.evaluate('window.__timeline.stallRegions()') as Promise<StallRegion[]>;
export const selected = (p: Page): Promise<{ index: number; title: string; hit: string | null; text: string } | null> =>
  p.evaluate('window.__timeline.selected()') as Promise<{
    index: number;
    title: string;
    hit: string | null;
    text: string;
  } | null>;

/** The colour of one CSS pixel of the timeline canvas, as #rrggbb (read in the page: the tests have no DOM types). */
export async function canvasPixel(p: Page, clientX: number, clientY: number): Promise<string> {
  return p.evaluate(`(() => {
    const cv = document.getElementById('cv');
    const r = cv.getBoundingClientRect();
    const dpr = cv.width / r.width;
    const d = cv.getContext('2d').getImageData(Math.floor((${clientX} - r.left) * dpr), Math.floor((${clientY} - r.top) * dpr), 1, 1).data;
    return '#' + [d[0], d[1], d[2]].map((v) => v.toString(16).padStart(2, '0')).join('');
  })()`) as Promise<string>;
}
