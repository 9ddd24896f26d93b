/**
 * Debian's Chromium, headless, driven by puppeteer-core: the one place that launches and ends it.
 * Used by the vitest browser tests (browser.ts) and by the scripts run under plain node
 * (tti-bench.mjs, readme-screenshot.mjs), which have no TypeScript loader: hence JavaScript here
 * and the types beside it in chromium.d.mts.
 * The flags keep Chromium from calling out (no network here: it would retry forever).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Starts Chromium with a fresh profile directory. `close()` ends it (killed by pid if closing
 * the browser does not) and removes the profile.
 * @param {{ timeout?: number; protocolTimeout?: number }} [deadlines] puppeteer's launch and
 *   protocol deadlines (ms); its defaults where not given.
 * @returns {Promise<import('./chromium.d.mts').LaunchedChromium>}
 */
export async function launchChromium(deadlines = {}) {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'pollscope-chromium-'));
  let browser;
  try {
    browser = await puppeteer.launch({
      ...deadlines,
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
      ],
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    browser,
    close: async () => {
      const pid = browser.process()?.pid;
      await browser.close().catch(() => undefined);
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
