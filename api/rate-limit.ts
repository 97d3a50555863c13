/**
 * Fixed one-minute windows shared by every API instance through Postgres. Over the limit: 429 with
 * Retry-After (seconds to the next window).
 *
 * Each instance counts its own hits at once and adds them to Postgres in one statement every
 * `flushMs`, reading the shared totals back: a request costs no round trip (one upsert per request
 * on one hot row per client was most of Postgres's work under a dashboard load), and an instance
 * sees the other instances' hits at most `flushMs` late. One instance alone counts exactly.
 */
import type { MiddlewareHandler } from 'hono';
import type { Pool } from '../core/postgres.ts';
import { ApiError } from './errors.ts';

const WINDOW_MS = 60_000;

interface Bucket {
  window: number;
  /** hits here not yet added to Postgres */
  pending: number;
  /** the bucket's total in Postgres when last flushed, every instance's hits included */
  shared: number;
}

export class RateCounter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Pool,
    flushMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs).unref();
  }

  /** Counts one hit of `bucket`: its hits this window, as far as this instance knows. */
  hit(bucket: string): { hits: number; retryAfterS: number } {
    const now = this.now();
    const window = Math.floor(now / WINDOW_MS);
    let entry = this.buckets.get(bucket);
    if (!entry || entry.window !== window) this.buckets.set(bucket, (entry = { window, pending: 0, shared: 0 }));
    entry.pending++;
    return {
      hits: entry.shared + entry.pending,
      retryAfterS: Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000)),
    };
  }

  /** Adds the pending hits to Postgres and reads the shared totals back; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return this.flush();
  }

  private async flushOnce(): Promise<void> {
    const window = Math.floor(this.now() / WINDOW_MS);
    const sent: [string, Bucket, number][] = [];
    for (const [bucket, entry] of this.buckets) {
      if (entry.window < window - 1) this.buckets.delete(bucket);
      else if (entry.pending > 0) sent.push([bucket, entry, entry.pending]);
    }
    if (sent.length === 0) return;
    for (const [, entry, n] of sent) entry.pending -= n;
    try {
      const { rows } = await this.db.query<{ bucket: string; hits: number }>(
        `INSERT INTO rate_limit_counters (bucket, window_start, hits)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[])
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counters.hits + EXCLUDED.hits
         RETURNING bucket, hits`,
        [
          sent.map(([bucket]) => bucket),
          sent.map(([, entry]) => new Date(entry.window * WINDOW_MS)),
          sent.map(([, , n]) => n),
        ],
      );
      const totals = new Map(rows.map((r) => [r.bucket, r.hits]));
      for (const [bucket, entry] of sent) entry.shared = totals.get(bucket) ?? entry.shared;
      if (Math.random() < 0.01)
        await this.db.query("DELETE FROM rate_limit_counters WHERE window_start < now() - interval '2 minutes'");
    } catch (error) {
      // not lost: counted again with the next flush
      for (const [, entry, n] of sent) entry.pending += n;
      throw error;
    }
  }
}

/** `bucketOf` may name no bucket: that request is not counted by this limit. */
export function rateLimit(
  counter: RateCounter,
  limit: number,
  bucketOf: (c: Parameters<MiddlewareHandler>[0]) => string | undefined,
): MiddlewareHandler {
  return async (c, next) => {
    const bucket = bucketOf(c);
    if (bucket === undefined) return next();
    const { hits, retryAfterS } = counter.hit(bucket);
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
