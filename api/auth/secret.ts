/**
 * The HS256 key for tokens: JWT_SECRET when set; otherwise one generated on first use and kept
 * (mode 0600) under MILLRACE_HOME, so tokens survive a restart of the embedded default.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config.ts';

const cached = new Map<string, string>();

/**
 * The key the config names, or the one kept under its MILLRACE_HOME (made on first use).
 *
 * @example
 * ```ts
 * const secret = jwtSecret(loadConfig());
 * ```
 */
export function jwtSecret(config: Pick<Config, 'JWT_SECRET' | 'MILLRACE_HOME'>): string {
  if (config.JWT_SECRET) return config.JWT_SECRET;
  const file = path.join(config.MILLRACE_HOME, 'secrets', 'jwt.key');
  const known = cached.get(file);
  if (known) return known;
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': if another process created it meanwhile, keep theirs
    try {
      writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch {
      /* created concurrently */
    }
    secret = readFileSync(file, 'utf8').trim();
  }
  cached.set(file, secret);
  return secret;
}
