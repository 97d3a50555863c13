/** Serves the API on API_HOST:API_PORT with its service connections; `close()` releases them all. */
import path from 'node:path';
import { Datasets } from '../connectors/sources/image-search/image-datasets.ts';
import { UploadResults } from '../connectors/sources/uploads/results.ts';
import { Uploads } from '../connectors/sources/uploads/uploads.ts';
import { loadCatalogue } from '../core/catalogue.ts';
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig, trustedCrawlHosts } from '../core/config.ts';
import { createKafka } from '../core/kafka.ts';
import { createLogger } from '../core/logger.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { datasetsDirOf } from '../domain/images/image-store.ts';
import { AvroProducer } from '../core/producer.ts';
import { Registry } from '../core/schema-registry.ts';
import { Analytics } from './analytics/run-query.ts';
import { createApp } from './app.ts';
import { listen } from './listen.ts';
import { attachUploadSockets } from './upload-socket.ts';
import { Ingestor } from './ingest.ts';
import { serviceChecks } from './readiness.ts';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

export async function startApi(): Promise<RunningApi> {
  const config = loadConfig();
  const log = createLogger('api');
  const kafka = createKafka('millrace-api');
  const registry = new Registry();
  const clickhouse = createClickHouse();
  const db = createPostgresPool(10);
  const producer = new AvroProducer(kafka, registry);
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const uploads = new Uploads(db, path.join(config.MILLRACE_HOME, 'uploads'), producer, createLogger('uploads'));
  const uploadResults = new UploadResults(uploads, db, clickhouse);
  const datasets = new Datasets({
    db,
    producer,
    clickhouse,
    log: createLogger('datasets'),
    searchEndpoints: config.CRAWL_SEARCH_ENDPOINTS,
    root: datasetsDirOf(config),
    fetcher: { ratePerSecondPerHost: config.CRAWL_RATE_PER_HOST, concurrencyPerHost: config.CRAWL_CONCURRENCY_PER_HOST, allowedHosts: trustedCrawlHosts(config) },
  });
  const app = createApp({
    log,
    db,
    topics: loadCatalogue(),
    ingestor: new Ingestor(registry, producer, admin),
    streams: { kafka, registry, heartbeatMs: 15_000, slowClientMs: 10_000 },
    uploads,
    uploadResults,
    clickhouse,
    analytics: new Analytics(clickhouse, config.ANALYTICS_CACHE_TTL_MS),
    datasets,
    checks: serviceChecks({ kafka, registry, clickhouse, postgres: db }),
  });
  const server = await listen(app.fetch, { hostname: config.API_HOST, port: config.API_PORT, requestTimeoutMs: config.API_REQUEST_TIMEOUT_MS });
  attachUploadSockets(server, { db, results: uploadResults, log });
  const resumed = await datasets.resumeUnfinished();
  if (resumed.length > 0) log.info({ datasets: resumed }, 'resuming dataset crawls');
  const url = `http://${config.API_HOST}:${config.API_PORT}`;
  log.info({ url }, 'api listening');
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await datasets.idle(); // a crawl ends by itself (its pages are few); one cut short would be resumed by the next start
      await Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close(), db.end()]);
    },
  };
}
