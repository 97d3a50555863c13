/**
 * Training datasets in Postgres (sql/postgres/0014_training.sql) and their rows in ClickHouse: the
 * query kind. Datasets built from an uploaded file share the table and the version numbering
 * (uploaded-datasets.ts); only ready versions are read.
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { inTransaction, type Pool } from '../../core/postgres.ts';
import {
  datasetDefinitionSchema,
  rowsQuery,
  statsQuery,
  type DatasetDefinition,
  type RawValue,
} from './dataset-spec.ts';
import { MillraceError } from '../../core/errors.ts';

export interface Dataset {
  tenant_id: string;
  name: string;
  version: number;
  definition: DatasetDefinition;
  created_at: Date;
}

/** No such training dataset (version) for the tenant; `field` names the request field that named it. */
export class UnknownDatasetError extends MillraceError {
  override name = 'UnknownDatasetError';
  constructor(message: string, field = 'name') {
    super(message, { code: 'not_found', status: 404, details: { field } });
  }
}

/**
 * Stores `definition` as the next version of the tenant's dataset `name`, unless it equals the
 * latest version (then that one is returned with `created: false`).
 */
/** A dataset built from a file where a query dataset is needed (the logistic and GBDT trainers read query datasets). */
export class UploadedDatasetError extends MillraceError {
  override name = 'UploadedDatasetError';
  constructor(name: string, version: number, field: string) {
    super(
      `training dataset "${name}" version ${version} is built from an uploaded file; this needs a query dataset (table, features, label rule)`,
      { code: 'invalid_request', status: 400, details: { field } },
    );
  }
}

export async function saveDataset(
  db: Pool,
  tenantId: string,
  name: string,
  definition: DatasetDefinition,
): Promise<Dataset & { created: boolean }> {
  return inTransaction(db, async (client) => {
    // serialises versions of one dataset name
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`training_dataset:${tenantId}:${name}`]);
    // the latest of any state and kind: a version number taken by a load (uploaded-datasets.ts) is never reused
    const { rows } = await client.query<Dataset & { same: boolean; state: string }>(
      `SELECT *, kind = 'query' AND definition = $3::jsonb AS same FROM training_datasets
       WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1`,
      [tenantId, name, JSON.stringify(definition)],
    );
    const latest = rows[0];
    if (latest?.same && latest.state === 'ready') {
      return {
        tenant_id: latest.tenant_id,
        name: latest.name,
        version: latest.version,
        definition: latest.definition,
        created_at: latest.created_at,
        created: false,
      };
    }
    const inserted = await client.query<Dataset>(
      'INSERT INTO training_datasets (tenant_id, name, version, definition) VALUES ($1, $2, $3, $4) RETURNING *',
      [tenantId, name, (latest?.version ?? 0) + 1, JSON.stringify(definition)],
    );
    return { ...inserted.rows[0]!, created: true };
  });
}

/** A version of a dataset, the latest when `version` is left out; UnknownDatasetError names `field` (the input that named it). */
export async function getDataset(
  db: Pool,
  tenantId: string,
  name: string,
  version?: number,
  field = 'name',
): Promise<Dataset> {
  const { rows } = await db.query<Dataset & { kind: 'query' | 'file' }>(
    `SELECT * FROM training_datasets WHERE tenant_id = $1 AND name = $2 AND state = 'ready' ${version === undefined ? '' : 'AND version = $3'} ORDER BY version DESC LIMIT 1`,
    version === undefined ? [tenantId, name] : [tenantId, name, version],
  );
  if (!rows[0])
    throw new UnknownDatasetError(
      `no training dataset "${name}"${version === undefined ? '' : ` version ${version}`} for this tenant`,
      field,
    );
  if (rows[0].kind !== 'query') throw new UploadedDatasetError(name, rows[0].version, field);
  // stored JSON was validated when saved; parsing again applies defaults added since
  return { ...rows[0], definition: datasetDefinitionSchema.parse(rows[0].definition) };
}

export async function datasetStats(
  clickhouse: ClickHouseClient,
  dataset: Dataset,
): Promise<{ rows: number; positives: number }> {
  const result = await clickhouse.query({
    query: statsQuery(dataset.definition, dataset.tenant_id),
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ rows: string | number; positives: string | number }>();
  return { rows: Number(row?.rows ?? 0), positives: Number(row?.positives ?? 0) };
}

export interface DatasetRow {
  features: RawValue[];
  label: 0 | 1;
  holdout: boolean;
}

/** Streams the dataset's rows from ClickHouse, features in the definition's order. */
export async function* streamDataset(clickhouse: ClickHouseClient, dataset: Dataset): AsyncGenerator<DatasetRow> {
  const result = await clickhouse.query({
    query: rowsQuery(dataset.definition, dataset.tenant_id),
    format: 'JSONEachRow',
  });
  const names = dataset.definition.features.map((_, j) => `f${j}`);
  for await (const batch of result.stream()) {
    for (const row of batch) {
      const values = row.json<Record<string, RawValue>>();
      yield {
        features: names.map((n) => values[n]!),
        label: Number(values.label) === 1 ? 1 : 0,
        holdout: Number(values.holdout) === 1,
      };
    }
  }
}
