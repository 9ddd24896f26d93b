// Types of chromium.mjs (JavaScript, so that plain-node scripts can import it too).
import type { Browser } from 'puppeteer-core';

/** The Chromium binary: $CHROMIUM_PATH, else Debian's. */
export declare const CHROMIUM: string;

export interface LaunchedChromium {
  browser: Browser;
  /** Ends Chromium (by pid if closing the browser does not) and removes its profile directory. */
  close: () => Promise<void>;
}

/** Starts headless Chromium with a fresh profile; puppeteer's deadlines (ms) where given, else its defaults. */
export declare function launchChromium(deadlines?: {
  timeout?: number;
  protocolTimeout?: number;
}): Promise<LaunchedChromium>;
