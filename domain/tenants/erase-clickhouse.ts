/**
 * The ClickHouse side of erasing a tenant: every MergeTree table of the database with a `tenant_id`
 * column (fact tables, rollups, training rows) loses the tenant's rows through `ALTER TABLE ...
 * DELETE`, a mutation that runs in the background on 18.16 as on 24.x; erasure waits until the
 * server reports it done, so the counts it answers are what is gone.
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { quoteString, sqlIdentifier } from '../../core/clickhouse-sql.ts';
import { errorKind } from '../../core/errors.ts';

export class MutationTimeoutError extends errorKind('MutationTimeoutError', {
  code: 'clickhouse_mutation',
  status: 503,
}) {}

const rowsOf = async <T>(client: ClickHouseClient, query: string): Promise<T[]> =>
  (await client.query({ query, format: 'JSONEachRow' })).json<T>();

/** The tables holding tenants' rows: MergeTree-family tables of the current database with `tenant_id`. */
export async function clickhouseTenantTables(client: ClickHouseClient): Promise<string[]> {
  const rows = await rowsOf<{ name: string }>(
    client,
    `SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'
       AND name IN (SELECT table FROM system.columns WHERE database = currentDatabase() AND name = 'tenant_id')
     ORDER BY name`,
  );
  return rows.map((r) => r.name);
}

export async function countTenantRows(client: ClickHouseClient, table: string, tenant: string, allowed: string[]) {
  const rows = await rowsOf<{ n: string }>(
    client,
    `SELECT count() AS n FROM ${sqlIdentifier(table, allowed)} WHERE tenant_id = ${quoteString(tenant)}`,
  );
  return Number(rows[0]?.n ?? 0);
}

async function waitForMutations(client: ClickHouseClient, table: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // 18.16's system.mutations has no failure columns: a mutation that cannot finish shows as the timeout
    const [pending] = await rowsOf<{ n: string }>(
      client,
      `SELECT count() AS n FROM system.mutations
       WHERE database = currentDatabase() AND table = ${quoteString(table)} AND is_done = 0`,
    );
    if (Number(pending?.n ?? 0) === 0) return;
    if (Date.now() > deadline) {
      throw new MutationTimeoutError(
        `ClickHouse had not finished deleting from ${table} after ${timeoutMs / 1000} s (system.mutations); run the erasure again to finish it`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Deletes the tenant's rows from every such table; per table, how many rows went (tables with none left out). */
export async function deleteClickHouseRows(
  client: ClickHouseClient,
  tenant: string,
  timeoutMs = 120_000,
): Promise<Record<string, number>> {
  const tables = await clickhouseTenantTables(client);
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const n = await countTenantRows(client, table, tenant, tables);
    if (n === 0) continue;
    await client.command({
      query: `ALTER TABLE ${sqlIdentifier(table, tables)} DELETE WHERE tenant_id = ${quoteString(tenant)}`,
    });
    await waitForMutations(client, table, timeoutMs);
    counts[table] = n;
  }
  return counts;
}

/** Rows still naming the tenant, per table with any. */
export async function clickhouseRowCounts(client: ClickHouseClient, tenant: string): Promise<Record<string, number>> {
  const tables = await clickhouseTenantTables(client);
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const n = await countTenantRows(client, table, tenant, tables);
    if (n > 0) counts[table] = n;
  }
  return counts;
}
