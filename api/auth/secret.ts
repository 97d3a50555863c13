/**
 * The HS256 key for tokens: JWT_SECRET when set; otherwise one generated on first use and kept
 * (mode 0600) under MILLRACE_HOME, so tokens survive a restart of the embedded default.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../core/config.ts';

let cached: string | undefined;

export function jwtSecret(): string {
  if (cached) return cached;
  const config = loadConfig();
  if (config.JWT_SECRET) return (cached = config.JWT_SECRET);
  const file = path.join(config.MILLRACE_HOME, 'secrets', 'jwt.key');
  try {
    cached = readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': if another process created it meanwhile, keep theirs
    try {
      writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch {
      /* created concurrently */
    }
    cached = readFileSync(file, 'utf8').trim();
  }
  return cached;
}
