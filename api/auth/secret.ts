/**
 * The HS256 key for tokens: JWT_SECRET when set; otherwise one generated on first use and kept
 * (mode 0600) under MILLRACE_HOME, so tokens survive a restart of the embedded default.
 */
import type { Config } from '../../core/config.ts';
import { keptSecret } from '../../core/secret-file.ts';

/**
 * The key the config names, or the one kept under its MILLRACE_HOME (made on first use).
 *
 * @example
 * ```ts
 * const secret = jwtSecret(loadConfig());
 * ```
 */
export function jwtSecret(config: Pick<Config, 'JWT_SECRET' | 'MILLRACE_HOME'>): string {
  return config.JWT_SECRET || keptSecret(config.MILLRACE_HOME, 'jwt.key');
}
