/** Debian's chromium driven by playwright-core, for the dashboard's browser tests (never a downloaded browser). */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.DROVER_CHROMIUM ?? '/usr/bin/chromium';

/** Starts a headless chromium; the caller closes it (env.onCleanup). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no chromium at ${CHROMIUM}: the dashboard tests drive Debian's chromium (never a downloaded browser). ` +
        'Install it with "apt-get install chromium", or point DROVER_CHROMIUM at a Chromium binary.',
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
