/**
 * `millrace source <name>`: runs a source connector until SIGTERM.
 *   market-retriever  fetches the watch list's quote and history pages into market.pages.raw
 *   fixture-site      serves the demo quote site (stocks.csv prices) on MARKET_SITE_URL's port
 */
import { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { Fetcher } from '../../domain/crawl/fetcher.ts';
import { startFixtureSite } from '../../connectors/sources/fixture-site/server.ts';
import { MarketRetriever } from '../../connectors/sources/market-retriever/retriever.ts';
import { scheduleRetriever } from '../../connectors/sources/market-retriever/schedule.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { hostAndPort, loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { startHeartbeat } from '../../core/role-heartbeat.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { onShutdown } from '../../core/shutdown.ts';

/** The sources this command runs (their specs: connectors/sources/components.ts). */
export const sources: Record<string, () => Promise<void>> = {
  'market-retriever': async () => {
    const config = loadConfig();
    const logger = createLogger('source', { source: 'market-retriever' });
    const clickhouse = createClickHouse();
    const db = createPostgresPool(2);
    const producer = new AvroProducer(createKafka('millrace-market-retriever'), new Registry());
    await producer.connect();
    const log = new FetchLog(clickhouse);
    // the quote site is the operator's own configuration, so its host is allowed even when local (the embedded default)
    const fetcher = new Fetcher({
      crawl: 'market',
      log,
      logger,
      allowedHosts: [...config.CRAWL_ALLOWED_HOSTS, new URL(config.MARKET_SITE_URL).hostname],
    });
    const retriever = new MarketRetriever({ fetcher, log, producer, siteUrl: config.MARKET_SITE_URL, logger });
    const schedule = scheduleRetriever(db, retriever, logger, config.MARKET_WATCHLIST_REFRESH_MS);
    onShutdown('market-retriever', async () => {
      schedule.stop();
      await log.flush();
      await producer.disconnect();
      await Promise.all([clickhouse.close(), db.end()]);
    });
    logger.info({ site: config.MARKET_SITE_URL }, 'market retriever running');
  },
  'fixture-site': async () => {
    const { host, port } = hostAndPort(loadConfig().MARKET_SITE_URL);
    const site = await startFixtureSite(port, host);
    onShutdown('fixture-site', () => site.close());
    createLogger('source', { source: 'fixture-site' }).info({ url: site.url }, 'fixture site serving');
  },
};

export async function run(args: string[]): Promise<'running'> {
  const [name] = args;
  const start = name ? sources[name] : undefined;
  if (!name || !start) throw new Error(`usage: millrace source <${Object.keys(sources).join('|')}>`);
  await start();
  const db = createPostgresPool(1);
  onShutdown('postgres', () => db.end());
  // registered last, so run first on shutdown: the status says stopped before the source is
  const heartbeat = await startHeartbeat(
    db,
    { role: 'source', name, topics: [] },
    createLogger('source', { source: name }),
  );
  onShutdown('status heartbeat', () => heartbeat.stop());
  return 'running';
}
