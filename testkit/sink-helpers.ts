/**
 * Shared by the sink tests: throwaway copies of the sample pipeline's tables in both databases,
 * and what each database holds (rows, distinct (tenant, id) identities, sums) to compare with what was produced.
 */
import { randomBytes } from 'node:crypto';
import { createClickHouse } from '../core/clickhouse.ts';
import { createPostgresPool } from '../core/postgres.ts';
import { flightsToClickHouse, flightsToPostgres } from '../connectors/sinks/samples-flights.ts';
import type { SampleFlight } from '../schemas/records/samples.ts';
import type { SinkSpec } from '../connectors/sinks/runtime/spec.ts';
import { withOverrides } from '../connectors/sinks/index.ts';
import { eventually } from './helpers.ts';

export interface Holdings {
  rows: number;
  ids: number;
  distance: number;
  delay: number;
}

/** Fresh tables shaped like `samples_flights` in both databases, and the two sinks pointed at them. */
export async function sampleSinks(topic: string, options: Pick<SinkSpec, 'batch' | 'retry' | 'consumer'> = {}) {
  const suffix = randomBytes(4).toString('hex');
  const table = `test_flights_${suffix}`;
  const pg = createPostgresPool(1);
  const ch = createClickHouse();
  try {
    await pg.query(`CREATE TABLE ${table} (LIKE samples_flights INCLUDING ALL)`);
    await ch.command({ query: `CREATE TABLE ${table} AS samples_flights` });
  } finally {
    await Promise.all([pg.end(), ch.close()]);
  }
  const overrides = { topic, table, ...options };
  return {
    table,
    clickhouse: withOverrides<SampleFlight>(flightsToClickHouse, { ...overrides, name: `test-ch-${suffix}` }),
    postgres: withOverrides<SampleFlight>(flightsToPostgres, { ...overrides, name: `test-pg-${suffix}` }),
  };
}

/** Rows as stored (no FINAL: a duplicate row would show), distinct identities, and the sums. */
export async function clickhouseHoldings(table: string): Promise<Holdings> {
  const ch = createClickHouse();
  try {
    const [row] = await (
      await ch.query({
        query: `SELECT count() AS rows, uniqExact(tenant_id, id) AS ids, sum(distance) AS distance, sum(delay) AS delay FROM ${table}`,
        format: 'JSONEachRow',
      })
    ).json<Record<keyof Holdings, string>>();
    return {
      rows: Number(row!.rows),
      ids: Number(row!.ids),
      distance: Number(row!.distance),
      delay: Number(row!.delay),
    };
  } finally {
    await ch.close();
  }
}

export async function postgresHoldings(table: string): Promise<Holdings> {
  const pg = createPostgresPool(1);
  try {
    const { rows } = await pg.query<Record<keyof Holdings, string>>(
      `SELECT count(*) AS rows, count(DISTINCT (tenant_id, id)) AS ids, coalesce(sum(distance), 0) AS distance, coalesce(sum(delay), 0) AS delay FROM ${table}`,
    );
    const row = rows[0]!;
    return { rows: Number(row.rows), ids: Number(row.ids), distance: Number(row.distance), delay: Number(row.delay) };
  } finally {
    await pg.end();
  }
}

/** Waits until a table holds `count` rows (or times out saying how many it holds). */
export async function waitForRows(
  what: string,
  holdings: () => Promise<Holdings>,
  count: number,
  timeoutMs = 180_000,
): Promise<Holdings> {
  let last: Holdings | undefined;
  try {
    return await eventually(
      `${what} to hold ${count} rows`,
      async () => {
        last = await holdings();
        return last.rows >= count ? last : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${JSON.stringify(last)}`, { cause: error });
  }
}

export async function dropTables(table: string): Promise<void> {
  const pg = createPostgresPool(1);
  const ch = createClickHouse();
  try {
    await pg.query(`DROP TABLE IF EXISTS ${table}`);
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
  } finally {
    await Promise.all([pg.end(), ch.close()]);
  }
}
