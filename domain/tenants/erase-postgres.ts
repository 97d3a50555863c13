/**
 * The Postgres side of erasing a tenant: shutting its door (the tenant marked erased, every key
 * revoked), finding the ids that name its files, and deleting every row of every table with a
 * `tenant_id` column, with the rows that hang on them (postgres-plan.ts), in one transaction.
 */
import { inTransaction, type Pool } from '../../core/postgres.ts';
import { deletionPlan, quoteIdent, type ForeignKey } from './postgres-plan.ts';

/** When the tenant was erased and when its name may be taken again; undefined for no such tenant. */
export interface Closed {
  erasedAt: Date;
  nameFreeAt: Date;
  keysRevoked: number;
}

/**
 * Marks the tenant erased (first time only: a second run keeps the dates) and revokes its keys: from
 * here no key, token or login of the tenant is let in (api/auth), so nothing new of it is written.
 */
export async function closeTenant(db: Pool, tenant: string, nameLockMs: number): Promise<Closed | undefined> {
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<{ erased_at: Date; name_free_at: Date }>(
      `UPDATE tenants SET erased_at = coalesce(erased_at, now()),
         name_free_at = coalesce(name_free_at, now() + $2 * interval '1 millisecond')
       WHERE id = $1 RETURNING erased_at, name_free_at`,
      [tenant, nameLockMs],
    );
    const row = rows[0];
    if (!row) return undefined;
    const revoked = await client.query(
      'UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL',
      [tenant],
    );
    return { erasedAt: row.erased_at, nameFreeAt: row.name_free_at, keysRevoked: revoked.rowCount ?? 0 };
  });
}

/** The base tables of the current schema with a `tenant_id` column. */
export async function tenantTables(db: Pool): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
     ORDER BY c.table_name`,
  );
  return rows.map((r) => r.table_name);
}

/** Every foreign key between tables of the current schema, columns in key order. */
export async function foreignKeys(db: Pool): Promise<ForeignKey[]> {
  const columns = (rel: string, keys: string) =>
    `(SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(c.${keys}) WITH ORDINALITY k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = c.${rel} AND a.attnum = k.attnum)`;
  const { rows } = await db.query<{
    child: string;
    parent: string;
    child_columns: string[];
    parent_columns: string[];
  }>(
    `SELECT ch.relname::text AS child, pa.relname::text AS parent,
            ${columns('conrelid', 'conkey')} AS child_columns, ${columns('confrelid', 'confkey')} AS parent_columns
     FROM pg_constraint c
       JOIN pg_class ch ON ch.oid = c.conrelid
       JOIN pg_class pa ON pa.oid = c.confrelid
       JOIN pg_namespace n ON n.oid = ch.relnamespace
     WHERE c.contype = 'f' AND n.nspname = current_schema()
     ORDER BY ch.relname, c.conname`,
  );
  return rows.map((r) => ({
    child: r.child,
    parent: r.parent,
    childColumns: r.child_columns,
    parentColumns: r.parent_columns,
  }));
}

/** The ids in `table` (a table with `tenant_id` and `id`) of the tenant's rows, as text. */
export async function idsOf(db: Pool, table: string, tenant: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM ${quoteIdent(table)} WHERE tenant_id = $1`,
    [tenant],
  );
  return rows.map((r) => r.id);
}

/** Deletes every row of the tenant; per table, how many rows went (tables with none left out). */
export async function deleteTenantRows(db: Pool, tenant: string): Promise<Record<string, number>> {
  const plan = deletionPlan(await tenantTables(db), await foreignKeys(db));
  return inTransaction(db, async (client) => {
    const counts: Record<string, number> = {};
    for (const step of plan) {
      const { rowCount } = await client.query(step.sql, [tenant]);
      if (rowCount) counts[step.table] = (counts[step.table] ?? 0) + rowCount;
    }
    return counts;
  });
}

/** Rows still naming the tenant, per table with any: what a check after erasure expects empty. */
export async function tenantRowCounts(db: Pool, tenant: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of await tenantTables(db)) {
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${quoteIdent(table)} WHERE tenant_id = $1`,
      [tenant],
    );
    const n = Number(rows[0]?.n ?? 0);
    if (n > 0) counts[table] = n;
  }
  return counts;
}
