/** Serves the API on API_HOST:API_PORT with its service connections; `close()` releases them all. */
import { serve } from '@hono/node-server';
import { createClickHouse } from '../core/clickhouse.ts';
import { loadConfig } from '../core/config.ts';
import { createKafka } from '../core/kafka.ts';
import { createLogger } from '../core/logger.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { Registry } from '../core/registry.ts';
import { createApp } from './app.ts';
import { serviceChecks } from './readiness.ts';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

export async function startApi(): Promise<RunningApi> {
  const config = loadConfig();
  const log = createLogger('api');
  const clickhouse = createClickHouse();
  const postgres = createPostgresPool();
  const app = createApp({
    log,
    checks: serviceChecks({ kafka: createKafka('millrace-api'), registry: new Registry(), clickhouse, postgres }),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.API_HOST, port: config.API_PORT }, () => resolve(s));
    s.once('error', reject);
  });
  const url = `http://${config.API_HOST}:${config.API_PORT}`;
  log.info({ url }, 'api listening');
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([clickhouse.close(), postgres.end()]);
    },
  };
}
