/** A Postgres pool on the configured database. */
import pg from 'pg';
import { loadConfig } from './config.ts';

export function createPostgresPool(max = 5): pg.Pool {
  return new pg.Pool({ connectionString: loadConfig().POSTGRES_URL, max });
}

export type { Pool, PoolClient } from 'pg';
