/** A Postgres pool on the configured database. */
import pg from 'pg';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

export function createPostgresPool(max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: loadConfig().POSTGRES_URL, max });
  // an idle connection the server closes (restart, outage) is dropped by the pool; unhandled, the event would end the process
  pool.on('error', (error) => createLogger('postgres').warn({ err: error }, 'idle Postgres connection lost'));
  // the pool stops listening to a client while it is checked out: a server gone then (a restart mid-transaction) would emit
  // an unhandled 'error' and end the process; the query in flight is rejected with it anyway (found by the chaos harness)
  pool.on('connect', (client) => client.on('error', (error) => createLogger('postgres').warn({ err: error }, 'Postgres connection lost while in use')));
  return pool;
}

export type { Pool, PoolClient } from 'pg';
