/**
 * Training datasets built from a tenant's uploaded file (kind 'file' in training_datasets): their
 * definition (the file, the target, the typed features, the task), the profile their load measured,
 * the version lifecycle (loading -> ready, or failed) and the reading of their rows from
 * ClickHouse's training_rows (sql/clickhouse/0011_training_rows.sql) in the shape a trainer takes.
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { sqlValue } from '../../core/clickhouse-sql.ts';
import { inTransaction, type Pool } from '../../core/postgres.ts';
import { HOLDOUT_EVERY } from './dataset-spec.ts';
import type { FeatureColumn, RawRow } from './feature-pipeline.ts';
import type { RowsTrainingOptions } from './train-rows.ts';
import { UnknownDatasetError } from './training-datasets.ts';

export const COLUMN_TYPES = ['numeric', 'categorical', 'boolean', 'timestamp', 'text'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];
export const TASKS = ['regression', 'binary', 'multiclass'] as const;
export type Task = (typeof TASKS)[number];

/** Numeric values, booleans (0/1) and timestamps (epoch ms) are numbers; categorical and text values are strings. */
export const holdsNumbers = (type: ColumnType): boolean =>
  type === 'numeric' || type === 'boolean' || type === 'timestamp';

/** A regression target is a number; a classification target is its class, a string. */
export const targetIsNumber = (task: Task): boolean => task === 'regression';

export interface TypedColumn {
  name: string;
  type: ColumnType;
}

export interface UploadedDefinition {
  source: { file: string; filename: string | null; format: string };
  target: TypedColumn;
  task: Task;
  features: TypedColumn[];
}

/** What a load or an inspection measured of one column. */
export interface ColumnProfile {
  name: string;
  type: ColumnType;
  missing: number;
  distinct: number;
  /** false when the distinct values outnumbered what is counted one by one: `distinct` is then a lower bound */
  distinct_exact: boolean;
  /** numeric: of the values; timestamp: epoch ms; boolean: share of true in `mean` */
  min?: number;
  max?: number;
  mean?: number;
  std?: number;
  /** categorical, boolean and text: the most frequent values, most frequent first */
  top?: { value: string; count: number }[];
}

export type LabelBalance =
  { classes: { class: string; count: number }[] } | { mean: number; std: number; min: number; max: number };

export interface RefusedRow {
  row_number: number;
  reason: string;
}

export interface UploadedProfile {
  rows: number;
  refused_rows: number;
  /** the first refused rows; `refused_rows` counts them all */
  refused: RefusedRow[];
  columns: ColumnProfile[];
  label_balance: LabelBalance;
}

export interface UploadedDataset {
  kind: 'file';
  tenant_id: string;
  name: string;
  version: number;
  definition: UploadedDefinition;
  profile: UploadedProfile;
  created_at: Date;
}

/** A version taken for a load, or the ready version that has the same definition. */
export type Reservation = { created: true; version: number } | { created: false; dataset: UploadedDataset };

/**
 * Takes the next version number of the tenant's dataset `name` for a load ('loading', seen by no
 * reader), unless the latest ready version has the same definition: then that one is returned.
 */
export async function reserveVersion(
  db: Pool,
  tenantId: string,
  name: string,
  definition: UploadedDefinition,
): Promise<Reservation> {
  return inTransaction(db, async (client) => {
    // the lock saveDataset takes: one numbering for both kinds
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`training_dataset:${tenantId}:${name}`]);
    const { rows } = await client.query<{ version: number; state: string; same: boolean }>(
      `SELECT version, state, kind = 'file' AND definition = $3::jsonb AS same
       FROM training_datasets WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC`,
      [tenantId, name, JSON.stringify(definition)],
    );
    const same = rows.find((r) => r.state === 'ready');
    if (same?.same) return { created: false, dataset: await getUploadedDataset(db, tenantId, name, same.version) };
    const version = (rows[0]?.version ?? 0) + 1;
    await client.query(
      `INSERT INTO training_datasets (tenant_id, name, version, definition, kind, state) VALUES ($1, $2, $3, $4, 'file', 'loading')`,
      [tenantId, name, version, JSON.stringify(definition)],
    );
    return { created: true, version };
  });
}

/** Shows a loaded version to readers, with what its load measured. */
export async function markReady(
  db: Pool,
  tenantId: string,
  name: string,
  version: number,
  profile: UploadedProfile,
): Promise<UploadedDataset> {
  await db.query(
    `UPDATE training_datasets SET state = 'ready', profile = $4 WHERE tenant_id = $1 AND name = $2 AND version = $3 AND state = 'loading'`,
    [tenantId, name, version, JSON.stringify(profile)],
  );
  return getUploadedDataset(db, tenantId, name, version);
}

/** A load that did not finish: its version stays unseen, its number unused again. */
export async function markFailed(db: Pool, tenantId: string, name: string, version: number): Promise<void> {
  await db.query(
    `UPDATE training_datasets SET state = 'failed' WHERE tenant_id = $1 AND name = $2 AND version = $3 AND state = 'loading'`,
    [tenantId, name, version],
  );
}

/** The rows of one version in training_rows: always the tenant's own. */
export const versionRows = (tenantId: string, name: string, version: number) =>
  `tenant_id = ${sqlValue(tenantId)} AND dataset = ${sqlValue(name)} AND version = ${sqlValue(version)}`;

/** Removes what a failed load inserted (the version is never shown; this only frees the space). */
export async function dropVersionRows(
  clickhouse: ClickHouseClient,
  tenantId: string,
  name: string,
  version: number,
): Promise<void> {
  await clickhouse.command({ query: `ALTER TABLE training_rows DELETE WHERE ${versionRows(tenantId, name, version)}` });
}

interface StoredRow {
  tenant_id: string;
  name: string;
  version: number;
  kind: 'query' | 'file';
  definition: unknown;
  profile: UploadedProfile | null;
  created_at: Date;
}

/** The ready version (the latest when `version` is left out) of a dataset, of either kind, as stored. */
export async function readyVersion(
  db: Pool,
  tenantId: string,
  name: string,
  version?: number,
  field = 'name',
): Promise<StoredRow> {
  const { rows } = await db.query<StoredRow>(
    `SELECT tenant_id, name, version, kind, definition, profile, created_at FROM training_datasets
     WHERE tenant_id = $1 AND name = $2 AND state = 'ready' ${version === undefined ? '' : 'AND version = $3'}
     ORDER BY version DESC LIMIT 1`,
    version === undefined ? [tenantId, name] : [tenantId, name, version],
  );
  if (!rows[0])
    throw new UnknownDatasetError(
      `no training dataset "${name}"${version === undefined ? '' : ` version ${version}`} for this tenant`,
      field,
    );
  return rows[0];
}

export const asUploaded = (row: StoredRow): UploadedDataset => ({
  kind: 'file',
  tenant_id: row.tenant_id,
  name: row.name,
  version: row.version,
  definition: row.definition as UploadedDefinition,
  profile: row.profile!,
  created_at: row.created_at,
});

/** A ready version of a dataset built from a file; UnknownDatasetError when there is none (or it is a query dataset). */
export async function getUploadedDataset(
  db: Pool,
  tenantId: string,
  name: string,
  version?: number,
  field = 'name',
): Promise<UploadedDataset> {
  const row = await readyVersion(db, tenantId, name, version, field);
  if (row.kind !== 'file')
    throw new UnknownDatasetError(`training dataset "${name}" version ${row.version} is not built from a file`, field);
  return asUploaded(row);
}

/** A feature's raw value: numeric, timestamp (epoch ms) and boolean (0/1) as numbers, categorical and text as strings; null when missing. */
export type RawCell = number | string | null;

/** One row of an uploaded dataset, as a trainer takes it. */
export interface UploadedRow {
  /** the row's number in the file (1-based, a CSV header excluded) */
  row_number: number;
  /** every feature of the definition by name */
  features: Record<string, RawCell>;
  /** regression: a number; binary and multiclass: the class (a string); never missing */
  target: number | string;
  /** one row in HOLDOUT_EVERY, by a hash of its row number: held out for evaluation */
  holdout: boolean;
}

/**
 * Streams a ready uploaded dataset's rows from ClickHouse in row order, never the whole dataset
 * in memory.
 *
 * @example
 * ```ts
 * const dataset = await getUploadedDataset(db, tenantId, 'cars');
 * for await (const row of streamUploadedRows(clickhouse, dataset)) trainOn(row.features, row.target);
 * ```
 */
export async function* streamUploadedRows(
  clickhouse: ClickHouseClient,
  dataset: UploadedDataset,
): AsyncGenerator<UploadedRow> {
  const { features, target, task } = dataset.definition;
  const result = await clickhouse.query({
    query: `SELECT row_number, number_columns, numbers, string_columns, strings, cityHash64(row_number) % ${HOLDOUT_EVERY} = 0 AS holdout
      FROM training_rows WHERE ${versionRows(dataset.tenant_id, dataset.name, dataset.version)} ORDER BY row_number`,
    format: 'JSONEachRow',
  });
  for await (const batch of result.stream()) {
    for (const line of batch) {
      const row = line.json<{
        row_number: string;
        number_columns: string[];
        numbers: (number | null)[];
        string_columns: string[];
        strings: (string | null)[];
        holdout: number;
      }>();
      const numbers = new Map(row.number_columns.map((name, i) => [name, row.numbers[i] ?? null]));
      const strings = new Map(row.string_columns.map((name, i) => [name, row.strings[i] ?? null]));
      const cell = (c: TypedColumn, asNumber: boolean) =>
        (asNumber ? numbers.get(c.name) : strings.get(c.name)) ?? null;
      yield {
        row_number: Number(row.row_number),
        features: Object.fromEntries(features.map((f) => [f.name, cell(f, holdsNumbers(f.type))])),
        target: cell(target, targetIsNumber(task))!,
        holdout: Number(row.holdout) === 1,
      };
    }
  }
}

/**
 * What `trainFromRows` (train-rows.ts: the feature pipeline and the multilayer perceptron) takes,
 * from a ready uploaded dataset: every row as one flat record (the features and the target under
 * their column names), the features with their pipeline kinds (text as categorical: the pipeline
 * keeps its most frequent values, or hashes them), the task, and the row number as the row's id
 * (which alone decides whether it is held out). The rows are held in memory, as the trainer needs.
 *
 * @example
 * ```ts
 * const trained = await trainFromRows({ ...(await rowsTrainingInput(clickhouse, dataset)), meta: { id, version } });
 * ```
 */
export async function rowsTrainingInput(
  clickhouse: ClickHouseClient,
  dataset: UploadedDataset,
): Promise<Pick<RowsTrainingOptions, 'rows' | 'target' | 'features' | 'task' | 'rowId'>> {
  const { target, features, task } = dataset.definition;
  const rows: RawRow[] = [];
  const numbers: number[] = [];
  for await (const row of streamUploadedRows(clickhouse, dataset)) {
    rows.push({ ...row.features, [target.name]: row.target });
    numbers.push(row.row_number);
  }
  return {
    rows,
    target: target.name,
    features: features.map((f): FeatureColumn => ({ name: f.name, kind: f.type === 'text' ? 'categorical' : f.type })),
    task,
    rowId: (_row, index) => String(numbers[index]),
  };
}
