import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); never a downloaded browser. */
export const CHROMIUM = process.env.DAMSON_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots the browser tests leave for people to look at (gitignored). */
export const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', 'artifacts', 'screenshots');

/** Why browser tests cannot run here, or false. Under CI=true a missing browser is a failure, not a skip. */
export function browserUnavailableReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} not found (apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No background traffic: this machine's network is closed, and the tests must not depend on it.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
