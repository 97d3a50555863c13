/**
 * A tenant's training datasets as a list (the latest ready version of each name, newest first,
 * keyset pages) and their deletion: every version, the jobs that ended on it (with their events),
 * and a file dataset's rows in ClickHouse's training_rows. Models a job registered keep their
 * lineage, which names the dataset and version.
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { sqlValue } from '../../core/clickhouse-sql.ts';
import { MillraceError } from '../../core/errors.ts';
import { cursorTime, keysetPage, pageOf } from '../../core/keyset-pages.ts';
import { inTransaction, type Pool } from '../../core/postgres.ts';
import { UnknownDatasetError } from './training-datasets.ts';
import type { UploadedProfile } from './uploaded-datasets.ts';

/** A dataset something still uses: a 409 naming what. */
export class DatasetInUseError extends MillraceError {
  override name = 'DatasetInUseError';
  constructor(message: string) {
    super(message, { code: 'conflict', status: 409, details: { field: 'name' } });
  }
}

export interface ListedDataset {
  tenant_id: string;
  name: string;
  version: number;
  kind: 'query' | 'file';
  definition: unknown;
  profile: UploadedProfile | null;
  created_at: Date;
}

/** A page of the tenant's datasets, each at its latest ready version, the most recent version first. */
export async function listDatasets(
  db: Pool,
  tenantId: string,
  query: { limit: number; cursor?: string },
): Promise<{ datasets: ListedDataset[]; next_cursor: string | null }> {
  const page = keysetPage('created_at', 'name', query, 2);
  const { rows } = await db.query<ListedDataset & { page_at: string; page_key: string }>(
    `SELECT d.*, ${cursorTime('created_at')} AS page_at, name AS page_key
       FROM (SELECT DISTINCT ON (name) tenant_id, name, version, kind, definition, profile, created_at FROM training_datasets
              WHERE tenant_id = $1 AND state = 'ready' ORDER BY name, version DESC) d
      WHERE ${page.where} ${page.orderAndLimit}`,
    [tenantId, ...page.params],
  );
  const { items, next_cursor } = pageOf(rows, query.limit);
  return { datasets: items, next_cursor };
}

/**
 * Deletes every version of a dataset (404: the tenant has none ready). 409 while a job on it is
 * queued or running (cancel it first: POST /v1/training-jobs/{id}/cancel) or a version is loading.
 * The rows in training_rows go by an ALTER ... DELETE mutation, applied in the background.
 */
export async function deleteDataset(db: Pool, clickhouse: ClickHouseClient, tenantId: string, name: string) {
  await inTransaction(db, async (client) => {
    const { rows: versions } = await client.query<{ version: number; state: string }>(
      'SELECT version, state FROM training_datasets WHERE tenant_id = $1 AND name = $2 FOR UPDATE',
      [tenantId, name],
    );
    if (!versions.some((v) => v.state === 'ready'))
      throw new UnknownDatasetError(`no training dataset "${name}" for this tenant`);
    const loading = versions.find((v) => v.state === 'loading');
    if (loading) throw new DatasetInUseError(`training dataset "${name}" version ${loading.version} is loading`);
    const { rows: jobs } = await client.query<{ id: string; status: string }>(
      `SELECT id, status FROM training_jobs WHERE tenant_id = $1 AND dataset_name = $2 AND status IN ('queued', 'running')
        ORDER BY created_at LIMIT 1`,
      [tenantId, name],
    );
    if (jobs[0])
      throw new DatasetInUseError(
        `training dataset "${name}" is used by training job ${jobs[0].id} (${jobs[0].status}): cancel it first (POST /v1/training-jobs/${jobs[0].id}/cancel)`,
      );
    await client.query('DELETE FROM training_jobs WHERE tenant_id = $1 AND dataset_name = $2', [tenantId, name]);
    await client.query('DELETE FROM training_datasets WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
    // inside the transaction: should ClickHouse refuse, nothing is deleted in Postgres either
    await clickhouse.command({
      query: `ALTER TABLE training_rows DELETE WHERE tenant_id = ${sqlValue(tenantId)} AND dataset = ${sqlValue(name)}`,
    });
  });
}
