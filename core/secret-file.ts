/**
 * Secrets generated on first use and kept (mode 0600) under MILLRACE_HOME/secrets, so that every
 * process of one setup, and a restarted one, reads the same: the JWT key, the registry's
 * provisioning key.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const cached = new Map<string, string>();

/**
 * The secret kept in `$home/secrets/<name>`, made (48 random bytes, base64url) if there is none.
 *
 * @example
 * ```ts
 * const key = keptSecret(loadConfig().MILLRACE_HOME, 'jwt.key');
 * ```
 */
export function keptSecret(home: string, name: string): string {
  const file = path.join(home, 'secrets', name);
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
