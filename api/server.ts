/**
 * Serves the API on API_HOST:API_PORT with its service connections, over HTTPS (HTTP/2 and
 * HTTP/1.1) when API_TLS_CERT and API_TLS_KEY name a certificate and its key; `close()` releases them all.
 */
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { createKafka } from '../core/kafka.ts';
import { createLogger } from '../core/logger.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { startDriftMonitor } from '../models/drift-monitor.ts';
import { AvroProducer } from '../core/producer.ts';
import { Registry } from '../core/schema-registry.ts';
import { composeApi, type ApiOverrides } from './compose.ts';
import { listen, readTlsFiles } from './listen.ts';
import { attachUploadSockets } from './upload-socket.ts';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

/** `dropSqlUser`: erasing a tenant drops its SQL user too (bin/commands/api.ts hands in infra/sql-users). */
export async function startApi(options: Pick<ApiOverrides, 'dropSqlUser'> = {}): Promise<RunningApi> {
  const config = loadConfig();
  // before any connection: a missing or bad certificate stops the start naming the file
  const tls =
    config.API_TLS_CERT === undefined ? undefined : readTlsFiles(config.API_TLS_CERT, config.API_TLS_KEY ?? '');
  const log = createLogger('api');
  const kafka = createKafka('millrace-api');
  const registry = new Registry();
  const clickhouse = createClickHouse();
  const db = createPostgresPool(10);
  const producer = new AvroProducer(kafka, registry);
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const { app, deps } = composeApi(
    config,
    { kafka, registry, producer, admin, db, clickhouse },
    { log, dropSqlUser: options.dropSqlUser },
  );
  const server = await listen(app.fetch, {
    hostname: config.API_HOST,
    port: config.API_PORT,
    requestTimeoutMs: config.API_REQUEST_TIMEOUT_MS,
    tls,
  });
  attachUploadSockets(server, { db, tokens: deps.tokens, results: deps.uploadResults, log });
  const resumed = await deps.imageDatasets.resumeUnfinished();
  if (resumed.length > 0) log.info({ datasets: resumed }, 'resuming dataset crawls');
  const driftMonitor = startDriftMonitor(
    db,
    clickhouse,
    { ...deps.settings.drift, intervalMs: config.MODEL_DRIFT_INTERVAL_MS },
    log,
  );
  const url = `${tls ? 'https' : 'http'}://${config.API_HOST}:${config.API_PORT}`;
  log.info({ url }, 'api listening');
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await driftMonitor.stop();
      await deps.imageDatasets.idle(); // a crawl ends by itself (its pages are few); one cut short would be resumed by the next start
      await deps.rateCounter
        .close()
        .catch((error: unknown) => log.warn({ err: error }, 'last request counts not stored'));
      await Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close(), db.end()]);
    },
  };
}
