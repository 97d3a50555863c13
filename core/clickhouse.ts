/** ClickHouse over HTTP with the configured server, user and database. */
import http from 'node:http';
import type { Socket } from 'node:net';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { loadConfig } from './config.ts';

/**
 * An HTTP agent whose sockets are reset, not closed, when a request on them times out (no byte
 * either way for the request timeout). A closed socket's unsent bytes stay in the kernel, which
 * keeps sending them: an insert abandoned while a link was down would still reach the server once
 * it is back, after the group may have given its partition to another member. Reset, they are
 * dropped, and a server holding part of the body never completes the insert.
 */
export class ResettingAgent extends http.Agent {
  override createConnection(
    ...args: Parameters<http.Agent['createConnection']>
  ): ReturnType<http.Agent['createConnection']> {
    const socket = super.createConnection(...args) as Socket;
    socket.on('timeout', () => socket.resetAndDestroy());
    return socket;
  }
}

export interface ClickHouseOptions {
  /**
   * A request that neither sends nor receives for this long is abandoned and its connection reset
   * (ResettingAgent); without it, the client's default (30 s) and a closed connection.
   */
  resetAfterMs?: number;
}

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
  { resetAfterMs }: ClickHouseOptions = {},
): ClickHouseClient {
  const config = loadConfig();
  return createClient({
    url,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database,
    ...(resetAfterMs !== undefined && {
      request_timeout: resetAfterMs,
      http_agent: new ResettingAgent({ keepAlive: true }),
    }),
    // failures surface as rejected promises that callers log with context; the client's own console lines only duplicate them
    log: { level: ClickHouseLogLevel.OFF },
  });
}

export type { ClickHouseClient };
