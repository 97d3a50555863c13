/**
 * Erasing a tenant (`millrace tenants erase`, DELETE /v1/tenant, DELETE /v1/tenants/{tenant}), in an
 * order where a crash at any step leaves a state the next run finishes: the door first (tenant marked
 * erased, keys revoked: nothing new of it is written or read), then its files, its Postgres rows, its
 * ClickHouse rows and SQL user, tombstones for its keys on compacted topics. What only retention can
 * remove, its records in the other topics, is counted and dated in the report. The tenant row stays,
 * marked, until the longest retention has passed: till then its name cannot be taken again, so no
 * new tenant of the same name can read the old one's records still in the log.
 */
import type { Kafka } from 'kafkajs';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { errorKind } from '../../core/errors.ts';
import type { Pool } from '../../core/postgres.ts';
import type { Registry } from '../../core/schema-registry.ts';
import { deleteClickHouseRows } from './erase-clickhouse.ts';
import { removeFolders, type RowFolders } from './erase-files.ts';
import { remainingInLog, tombstoneTenantKeys, topicPolicies, type Remaining, type Tombstones } from './erase-log.ts';
import { closeTenant, deleteTenantRows, idsOf } from './erase-postgres.ts';

export class UnknownTenantError extends errorKind('UnknownTenantError', { code: 'not_found', status: 404 }) {}

export interface ErasureDeps {
  db: Pool;
  clickhouse: ClickHouseClient;
  kafka: Kafka;
  registry: Registry;
  /** every topic the tenant may have records in (the catalogue's and their dead-letter topics) */
  topics: readonly string[];
  /** how long the name stays taken: the longest retention of those topics */
  nameLockMs: number;
  /** folders named by a row's id (uploads, training files, bulk jobs) */
  rowFolders: readonly RowFolders[];
  /** roots holding a folder named by the tenant (image datasets) */
  tenantFolders: readonly string[];
  /** drops the tenant's ClickHouse SQL user and its database (`millrace sql-users`), where this process manages them */
  dropSqlUser?: (tenant: string) => Promise<boolean>;
  /** the most records read per topic to count what remains (default 1,000,000) */
  scanLimit?: number;
}

const SCANS_AT_ONCE = 4;

/** `work` on each item, at most `limit` at a time; the results in the items' order. */
async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface ErasureReport {
  tenant: string;
  erased_at: string;
  /** when the name may be taken again */
  name_free_at: string;
  keys_revoked: number;
  postgres: Record<string, number>;
  clickhouse: Record<string, number>;
  /** null when this process does not manage SQL users (the API): `millrace tenants erase` drops it */
  sql_user_dropped: boolean | null;
  files_removed: number;
  tombstones: Tombstones[];
  remains_in_log: Remaining[];
}

/**
 * Erases the tenant; safe to run again (a second run finds nothing left and answers zeros). An
 * unknown tenant throws UnknownTenantError.
 *
 * @example
 * ```ts
 * const report = await eraseTenant(deps, 'acme');
 * report.remains_in_log.filter((t) => t.records > 0); // what retention still has to remove
 * ```
 */
export async function eraseTenant(deps: ErasureDeps, tenant: string): Promise<ErasureReport> {
  const closed = await closeTenant(deps.db, tenant, deps.nameLockMs);
  if (!closed) throw new UnknownTenantError(`no tenant "${tenant}"`);

  // files before rows: the rows are what finds the folders, so a crash in between loses no path
  const folders = [
    ...(
      await Promise.all(
        deps.rowFolders.map(async ({ table, root }) =>
          (await idsOf(deps.db, table, tenant)).map((name) => ({ root, name })),
        ),
      )
    ).flat(),
    ...deps.tenantFolders.map((root) => ({ root, name: tenant })),
  ];
  const filesRemoved = await removeFolders(folders);
  const postgres = await deleteTenantRows(deps.db, tenant);
  const clickhouse = await deleteClickHouseRows(deps.clickhouse, tenant);
  const sqlUserDropped = deps.dropSqlUser ? await deps.dropSqlUser(tenant) : null;

  const policies = await topicPolicies(deps.kafka, deps.topics);
  const tombstones: Tombstones[] = [];
  for (const policy of policies.filter((p) => p.compacted))
    tombstones.push(await tombstoneTenantKeys(deps.kafka, deps.registry, policy.topic, tenant));
  // each read joins a throwaway consumer group, most of its time waiting: a few at once
  const remains = await inParallel(
    policies.filter((p) => !p.compacted),
    SCANS_AT_ONCE,
    (policy) => remainingInLog(deps.kafka, deps.registry, policy, tenant, deps.scanLimit ?? 1_000_000),
  );
  return {
    tenant,
    erased_at: closed.erasedAt.toISOString(),
    name_free_at: closed.nameFreeAt.toISOString(),
    keys_revoked: closed.keysRevoked,
    postgres,
    clickhouse,
    sql_user_dropped: sqlUserDropped,
    files_removed: filesRemoved,
    tombstones,
    remains_in_log: remains,
  };
}
