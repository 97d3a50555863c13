/** A Postgres pool on the configured database. */
import pg from 'pg';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

export function createPostgresPool(max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: loadConfig().POSTGRES_URL, max });
  // an idle connection the server closes (restart, outage) is dropped by the pool; unhandled, the event would end the process
  pool.on('error', (error) => createLogger('postgres').warn({ err: error }, 'idle Postgres connection lost'));
  return pool;
}

export type { Pool, PoolClient } from 'pg';
