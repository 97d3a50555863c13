/**
 * Landing a file's rows in ClickHouse as one version of a training dataset: every row is typed by
 * the definition's columns (only those: a bad value in a column the dataset does not use refuses
 * nothing), a row whose target is missing or a value does not fit is refused with its number and
 * reason, and the others are inserted into training_rows under the version, in batches. What
 * landed is profiled as it goes: each column, and the label balance.
 */
import type { ClickHouseClient } from '../../../core/clickhouse.ts';
import {
  holdsNumbers,
  targetIsNumber,
  type LabelBalance,
  type TypedColumn,
  type UploadedDefinition,
  type UploadedProfile,
} from '../../../models/tabular/uploaded-datasets.ts';
import { fileRows, type TrainingFormat } from './file-rows.ts';
import { Refusals } from './inspect.ts';
import { ColumnProfiler, typeRow } from './profile.ts';

const INSERT_BATCH = 5000;

interface TrainingRow {
  tenant_id: string;
  dataset: string;
  version: number;
  row_number: number;
  number_columns: string[];
  numbers: (number | null)[];
  string_columns: string[];
  strings: (string | null)[];
}

/** A typed target value as its class: booleans as true/false, numbers as JavaScript writes them. */
const classOf = (target: TypedColumn, value: number | string) =>
  target.type === 'boolean' ? (value === 1 ? 'true' : 'false') : String(value);

export interface LoadTarget {
  clickhouse: ClickHouseClient;
  tenantId: string;
  name: string;
  version: number;
}

/** Inserts the file's usable rows under the version; returns what landed and what was refused. */
export async function loadRows(
  { clickhouse, tenantId, name, version }: LoadTarget,
  file: { path: string; format: TrainingFormat; delimiter: string | null },
  definition: UploadedDefinition,
): Promise<UploadedProfile> {
  const { target, features, task } = definition;
  const columns = [...features, target];
  const asNumber = columns.map((c, i) => (i === features.length ? targetIsNumber(task) : holdsNumbers(c.type)));
  const number_columns = columns.filter((_, i) => asNumber[i]).map((c) => c.name);
  const string_columns = columns.filter((_, i) => !asNumber[i]).map((c) => c.name);
  const profilers = columns.map((c) => new ColumnProfiler(c));
  const classes = new Map<string, number>();
  const refusals = new Refusals();
  let batch: TrainingRow[] = [];
  let landed = 0;
  const flush = async () => {
    if (batch.length > 0) await clickhouse.insert({ table: 'training_rows', values: batch, format: 'JSONEachRow' });
    batch = [];
  };
  for await (const row of fileRows(file.path, file.format, file.delimiter)) {
    const typed = 'error' in row ? row : typeRow(row.values, columns);
    if ('error' in typed) {
      refusals.add(row.row, typed.error);
      continue;
    }
    const values = typed.values;
    const label = values[features.length];
    if (label === null || label === undefined) {
      refusals.add(row.row, `the target ${JSON.stringify(target.name)} is missing`);
      continue;
    }
    if (!targetIsNumber(task)) {
      const cls = classOf(target, label);
      values[features.length] = cls;
      classes.set(cls, (classes.get(cls) ?? 0) + 1);
    }
    values.forEach((v, i) => profilers[i]!.add(i === features.length ? label : v));
    batch.push({
      tenant_id: tenantId,
      dataset: name,
      version,
      row_number: row.row,
      number_columns,
      numbers: values.filter((_, i) => asNumber[i]) as (number | null)[],
      string_columns,
      strings: values.filter((_, i) => !asNumber[i]) as (string | null)[],
    });
    landed += 1;
    if (batch.length >= INSERT_BATCH) await flush();
  }
  await flush();
  const profiles = profilers.map((p) => p.result());
  const targetProfile = profiles.at(-1)!;
  const label_balance: LabelBalance = targetIsNumber(task)
    ? {
        mean: targetProfile.mean ?? 0,
        std: targetProfile.std ?? 0,
        min: targetProfile.min ?? 0,
        max: targetProfile.max ?? 0,
      }
    : {
        classes: [...classes]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([cls, count]) => ({ class: cls, count })),
      };
  return { rows: landed, refused_rows: refusals.count, refused: refusals.listed, columns: profiles, label_balance };
}
