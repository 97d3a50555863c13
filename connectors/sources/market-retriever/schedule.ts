/**
 * Runs the retriever on each watched symbol at its own interval (croner), re-reading the watch
 * list (Postgres `market_symbols`) periodically so added or removed symbols take effect without a
 * restart. A run still going when its next tick comes is not started twice (croner `protect`).
 */
import { Cron } from 'croner';
import type { Logger } from '../../../core/logger.ts';
import type { Pool } from '../../../core/postgres.ts';
import type { Feed, MarketRetriever } from './retriever.ts';

interface Watched {
  tenant_id: string;
  symbol: string;
  interval_s: number;
  /** absent: the demo site's pages */
  feed?: Feed;
}

export async function watchList(db: Pool): Promise<Watched[]> {
  const { rows } = await db.query<
    Omit<Watched, 'feed'> & { feed_format: Feed['format'] | 'demo'; feed_url: string | null }
  >('SELECT tenant_id, symbol, interval_s, feed_format, feed_url FROM market_symbols ORDER BY tenant_id, symbol');
  return rows.map(({ feed_format, feed_url, ...w }) =>
    feed_format === 'demo' || !feed_url ? w : { ...w, feed: { format: feed_format, url: feed_url } },
  );
}

/** A symbol's schedule changes with its interval or its feed. */
const planOf = (w: Watched) => `${w.interval_s} ${w.feed?.format ?? 'demo'} ${w.feed?.url ?? ''}`;

export function scheduleRetriever(
  db: Pool,
  retriever: MarketRetriever,
  log: Logger,
  refreshMs: number,
): { stop(): void } {
  const jobs = new Map<string, { job: Cron; plan: string }>();
  const sync = async () => {
    const wanted = await watchList(db);
    const keys = new Set(wanted.map((w) => `${w.tenant_id}/${w.symbol}`));
    for (const [key, { job }] of jobs) {
      if (!keys.has(key)) {
        job.stop();
        jobs.delete(key);
      }
    }
    for (const w of wanted) {
      const key = `${w.tenant_id}/${w.symbol}`;
      if (jobs.get(key)?.plan === planOf(w)) continue;
      jobs.get(key)?.job.stop();
      const job = new Cron('* * * * * *', { interval: w.interval_s, protect: true }, async () => {
        await retriever
          .retrieve(w.tenant_id, w.symbol, new Date(), w.feed)
          .catch((error: Error) => log.error({ err: error, ...w }, 'retrieve failed'));
      });
      jobs.set(key, { job, plan: planOf(w) });
      void job.trigger(); // the first run now, not one interval from now
    }
  };
  const refresh = new Cron('* * * * * *', { interval: Math.max(1, Math.round(refreshMs / 1000)), protect: true }, () =>
    sync().catch((error: Error) => log.error({ err: error }, 'watch list refresh failed')),
  );
  void refresh.trigger();
  return {
    stop() {
      refresh.stop();
      for (const { job } of jobs.values()) job.stop();
    },
  };
}
