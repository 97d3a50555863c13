/** ClickHouse over HTTP with the configured server, user and database. */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { loadConfig } from './config.ts';

/**
 * A ClickHouse client for the configured server (CLICKHOUSE_URL, _USER, _PASSWORD), or the one at
 * `url` (a replica of CLICKHOUSE_REPLICAS), on `database`.
 *
 * @example
 * const clickhouse = createClickHouse();
 * const rows = await (await clickhouse.query({ query: 'SELECT count() AS n FROM samples_flights', format: 'JSONEachRow' })).json();
 * await clickhouse.close();
 */
export function createClickHouse(
  database: string = loadConfig().CLICKHOUSE_DATABASE,
  url: string = loadConfig().CLICKHOUSE_URL,
): ClickHouseClient {
  const config = loadConfig();
  return createClient({
    url,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database,
    // failures surface as rejected promises that callers log with context; the client's own console lines only duplicate them
    log: { level: ClickHouseLogLevel.OFF },
  });
}

export type { ClickHouseClient };
