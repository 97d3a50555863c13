/** A Postgres pool on the configured database, and the one way to run a transaction on it. */
import pg from 'pg';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

/**
 * Session settings every connection starts with. extra_float_digits=3: double precision comes back
 * as text that reads to the same bits on any server (shortest exact from 12 on, 17 digits before),
 * whatever the server or database default is; at 0 or below, a score would read back rounded.
 * An `options` parameter in POSTGRES_URL replaces this one.
 */
const SESSION_OPTIONS = '-c extra_float_digits=3';

export function createPostgresPool(max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString: loadConfig().POSTGRES_URL, max, options: SESSION_OPTIONS });
  // an idle connection the server closes (restart, outage) is dropped by the pool; unhandled, the event would end the process
  pool.on('error', (error) => createLogger('postgres').warn({ err: error }, 'idle Postgres connection lost'));
  // the pool stops listening to a client while it is checked out: a server gone then (a restart mid-transaction) would emit
  // an unhandled 'error' and end the process; the query in flight is rejected with it anyway (found by the chaos harness)
  pool.on('connect', (client) =>
    client.on('error', (error) =>
      createLogger('postgres').warn({ err: error }, 'Postgres connection lost while in use'),
    ),
  );
  return pool;
}

/**
 * Runs `work` between BEGIN and COMMIT on a connection the caller holds (a checked-out pool
 * client, or a pg.Client of its own). When `work` throws, the transaction is rolled back and the
 * error rethrown; a ROLLBACK that fails too is ignored (the connection may be what failed: the
 * error that matters is `work`'s). The caller releases the connection.
 *
 * @example
 * ```ts
 * const client = await pool.connect();
 * try {
 *   await inClientTransaction(client, async (tx) => {
 *     await tx.query('UPDATE sink_offsets SET next_offset = $1 WHERE sink = $2', [next, sink]);
 *   });
 * } finally {
 *   client.release();
 * }
 * ```
 */
export async function inClientTransaction<C extends pg.ClientBase, T>(
  client: C,
  work: (client: C) => Promise<T>,
): Promise<T> {
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Checks a connection out of `pool`, runs `work` in a transaction on it (see
 * `inClientTransaction`) and releases it. pg-pool stops listening for a client's 'error' while it
 * is checked out: pools from `createPostgresPool` handle it themselves; for any other pool a
 * handler is attached for the duration, so a server restart mid-transaction rejects the query in
 * flight instead of ending the process.
 *
 * @example
 * ```ts
 * const version = await inTransaction(pool, async (client) => {
 *   await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
 *   const { rows } = await client.query<{ version: number }>('INSERT INTO things (name) VALUES ($1) RETURNING version', [name]);
 *   return rows[0]!.version;
 * });
 * ```
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const onError = (error: Error) =>
    createLogger('postgres').warn({ err: error }, 'Postgres connection lost in a transaction');
  const guarded = client.listenerCount('error') === 0;
  if (guarded) client.on('error', onError);
  try {
    return await inClientTransaction(client, work);
  } finally {
    if (guarded) client.off('error', onError);
    client.release();
  }
}

export type { Pool, PoolClient } from 'pg';
