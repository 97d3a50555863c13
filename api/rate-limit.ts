/**
 * Fixed one-minute windows counted in Postgres, so every API instance shares the same limits.
 * Over the limit: 429 with Retry-After (seconds to the next window).
 */
import type { MiddlewareHandler } from 'hono';
import type { Pool } from '../core/postgres.ts';
import { ApiError } from './errors.ts';

export async function hit(db: Pool, bucket: string): Promise<{ hits: number; retryAfterS: number }> {
  const { rows } = await db.query<{ hits: number; retry: string }>(
    `INSERT INTO rate_limit_counters (bucket, window_start, hits) VALUES ($1, date_trunc('minute', now()), 1)
     ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counters.hits + 1
     RETURNING hits, extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now()) AS retry`,
    [bucket],
  );
  if (Math.random() < 0.01) {
    await db.query("DELETE FROM rate_limit_counters WHERE window_start < now() - interval '2 minutes'");
  }
  const row = rows[0]!;
  return { hits: row.hits, retryAfterS: Math.max(1, Math.ceil(Number(row.retry))) };
}

/** `bucketOf` may name no bucket: that request is not counted by this limit. */
export function rateLimit(
  db: Pool,
  limit: number,
  bucketOf: (c: Parameters<MiddlewareHandler>[0]) => string | undefined,
): MiddlewareHandler {
  return async (c, next) => {
    const bucket = bucketOf(c);
    if (bucket === undefined) return next();
    const { hits, retryAfterS } = await hit(db, bucket);
    c.header('ratelimit-limit', String(limit));
    c.header('ratelimit-remaining', String(Math.max(0, limit - hits)));
    if (hits > limit) {
      throw new ApiError(
        429,
        'rate_limited',
        `more than ${limit} requests per minute for ${bucket.split(':')[0]}; retry in ${retryAfterS} s`,
        undefined,
        {
          'retry-after': String(retryAfterS),
        },
      );
    }
    await next();
  };
}
