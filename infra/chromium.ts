/** Chromium for the browser tests, from Debian's packages; installed on first use. */
import { existsSync } from 'node:fs';
import { aptInstall } from './apt.ts';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The path of a Chromium executable, installing Debian's `chromium` when there is none. */
export async function ensureChromium(logFile?: string): Promise<string> {
  const found = () => CANDIDATES.find((p) => existsSync(p));
  const existing = found();
  if (existing) return existing;
  await aptInstall(['chromium'], logFile);
  const installed = found();
  if (!installed) throw new Error(`apt-get installed chromium but none of ${CANDIDATES.join(', ')} exists`);
  return installed;
}
