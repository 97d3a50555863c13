/**
 * Training datasets: a named, versioned query over whitelisted ClickHouse tables and columns.
 * Clients name features, a label rule and filters from these lists; the SQL is built here from
 * whitelisted identifiers and fixed expressions, and every client value is rendered by
 * core/clickhouse-sql.ts. A row's place in the held-out fifth depends only on its id.
 */
import { z } from 'zod';
import { sqlIdentifier, sqlValue } from '../../core/clickhouse-sql.ts';

export type RawValue = number | string;

type ColumnType = 'number' | 'string' | 'time';
export type FeatureKind = 'numeric' | 'categorical';

/** A record of the table's topic as the scoring processor decodes it (times in epoch milliseconds). */
export type SourceRecord = Record<string, unknown>;

interface TableSpec {
  /** The topic whose records the sink lands in the table: what a model trained on the table scores. */
  topic: string;
  columns: Record<string, ColumnType>;
  /** Feature name -> a fixed expression over the table's columns, and the same value computed from a record. */
  features: Record<
    string,
    { kind: FeatureKind; sql: string; description: string; of: (record: SourceRecord) => RawValue }
  >;
}

/** A record's time as the table's DateTime holds it: UTC, whole seconds. */
const timeOf = (record: SourceRecord, column = 'event_time') =>
  new Date(Math.floor(Number(record[column]) / 1000) * 1000);

export const TABLES: Record<string, TableSpec> = {
  samples_flights: {
    topic: 'samples.flights.raw',
    columns: { event_time: 'time', origin: 'string', destination: 'string', distance: 'number', delay: 'number' },
    features: {
      hour: {
        kind: 'numeric',
        sql: "toHour(event_time, 'UTC')",
        description: 'hour of departure, 0-23 (UTC)',
        of: (r) => timeOf(r).getUTCHours(),
      },
      weekday: {
        kind: 'numeric',
        sql: "toDayOfWeek(event_time, 'UTC')",
        description: 'day of week, 1 (Monday) to 7',
        of: (r) => ((timeOf(r).getUTCDay() + 6) % 7) + 1,
      },
      month: {
        kind: 'numeric',
        sql: "toMonth(event_time, 'UTC')",
        description: 'month, 1-12',
        of: (r) => timeOf(r).getUTCMonth() + 1,
      },
      distance: { kind: 'numeric', sql: 'toFloat64(distance)', description: 'miles', of: (r) => Number(r.distance) },
      origin: { kind: 'categorical', sql: 'origin', description: 'origin airport code', of: (r) => String(r.origin) },
      destination: {
        kind: 'categorical',
        sql: 'destination',
        description: 'destination airport code',
        of: (r) => String(r.destination),
      },
    },
  },
};

const OPERATORS = { '=': '=', '!=': '!=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' } as const;
const condition = z.object({
  column: z.string(),
  op: z.enum(['=', '!=', '>', '>=', '<', '<=', 'in']),
  value: z.union([
    z.number(),
    z.string(),
    z
      .array(z.union([z.number(), z.string()]))
      .min(1)
      .max(1000),
  ]),
});
export type Condition = z.infer<typeof condition>;

/** A whitelist entry by a caller's name: only the table's own keys (never `valueOf`, `constructor`...). */
const own = <V>(table: Record<string, V>, name: string): V | undefined =>
  Object.hasOwn(table, name) ? table[name] : undefined;

export const datasetDefinitionSchema = z
  .object({
    table: z.string(),
    features: z.array(z.string()).min(1).max(32),
    label: condition.omit({ op: true }).extend({ op: z.enum(['=', '!=', '>', '>=', '<', '<=']) }),
    filter: z.array(condition).max(16).default([]),
  })
  .superRefine((d, ctx) => {
    const table = own(TABLES, d.table);
    if (!table) {
      ctx.addIssue({
        code: 'custom',
        path: ['table'],
        message: `unknown table; one of ${Object.keys(TABLES).join(', ')}`,
      });
      return;
    }
    d.features.forEach((f, i) => {
      if (!own(table.features, f))
        ctx.addIssue({
          code: 'custom',
          path: ['features', i],
          message: `unknown feature "${f}"; one of ${Object.keys(table.features).join(', ')}`,
        });
    });
    if (new Set(d.features).size !== d.features.length)
      ctx.addIssue({ code: 'custom', path: ['features'], message: 'a feature is named twice' });
    for (const [where, c] of [['label', d.label], ...d.filter.map((c, i) => [`filter.${i}`, c] as const)] as const) {
      const problem = conditionProblem(table, c);
      if (problem)
        ctx.addIssue({ code: 'custom', path: [...where.split('.'), problem.field], message: problem.message });
    }
  });
export type DatasetDefinition = z.infer<typeof datasetDefinitionSchema>;

function conditionProblem(table: TableSpec, c: Condition): { field: string; message: string } | undefined {
  const type = own(table.columns, c.column);
  if (!type)
    return {
      field: 'column',
      message: `unknown column "${c.column}"; one of ${Object.keys(table.columns).join(', ')}`,
    };
  const values = Array.isArray(c.value) ? c.value : [c.value];
  if (c.op === 'in' && !Array.isArray(c.value)) return { field: 'value', message: '"in" takes an array' };
  if (c.op !== 'in' && Array.isArray(c.value)) return { field: 'value', message: `"${c.op}" takes one value` };
  for (const v of values) {
    if (type === 'number' && typeof v !== 'number') return { field: 'value', message: `${c.column} is a number` };
    if (type === 'string' && typeof v !== 'string') return { field: 'value', message: `${c.column} is a string` };
    if (type === 'time' && (typeof v !== 'string' || Number.isNaN(Date.parse(v))))
      return { field: 'value', message: `${c.column} takes ISO 8601 times` };
  }
  return undefined;
}

function renderCondition(table: TableSpec, c: Condition): string {
  const column = sqlIdentifier(c.column, Object.keys(table.columns));
  const literal = (v: number | string) => sqlValue(table.columns[c.column] === 'time' ? new Date(v) : v);
  if (c.op === 'in') return `${column} IN (${(c.value as (number | string)[]).map(literal).join(', ')})`;
  return `${column} ${OPERATORS[c.op]} ${literal(c.value as number | string)}`;
}

export interface FeatureSpec {
  name: string;
  kind: FeatureKind;
  description: string;
}

export function featuresOf(definition: DatasetDefinition): FeatureSpec[] {
  const table = TABLES[definition.table]!;
  return definition.features.map((name) => ({
    name,
    kind: table.features[name]!.kind,
    description: table.features[name]!.description,
  }));
}

/** One in HOLDOUT_EVERY rows is held out, chosen by a hash of the row id. */
export const HOLDOUT_EVERY = 5;

function fromWhere(definition: DatasetDefinition, tenantId: string): string {
  const table = TABLES[definition.table]!;
  const conditions = [`tenant_id = ${sqlValue(tenantId)}`, ...definition.filter.map((c) => renderCondition(table, c))];
  // FINAL: a record produced twice (two offsets, one id) is one training row even before a merge folds it
  return `FROM ${sqlIdentifier(definition.table, Object.keys(TABLES))} FINAL WHERE ${conditions.join(' AND ')}`;
}

/** FROM ... WHERE of the dataset's training rows: its filters, held-out rows aside. */
export const trainingRowsFrom = (definition: DatasetDefinition, tenantId: string): string =>
  `${fromWhere(definition, tenantId)} AND cityHash64(id) % ${HOLDOUT_EVERY} != 0`;

/** FROM ... WHERE of the tenant's rows of the dataset's table whose ids the subquery `ids` gives. */
export const rowsWithIds = (definition: DatasetDefinition, tenantId: string, ids: string): string =>
  `FROM ${sqlIdentifier(definition.table, Object.keys(TABLES))} FINAL WHERE tenant_id = ${sqlValue(tenantId)} AND id IN (${ids})`;

const labelSql = (definition: DatasetDefinition) =>
  `toUInt8(${renderCondition(TABLES[definition.table]!, definition.label)})`;

/** Rows as {f0...fn, label, holdout}, features in the definition's order (18.16 has no JSONCompactEachRow). */
export function rowsQuery(definition: DatasetDefinition, tenantId: string): string {
  const table = TABLES[definition.table]!;
  const features = definition.features.map((f, j) => `${table.features[f]!.sql} AS f${j}`);
  return `SELECT ${[...features, `${labelSql(definition)} AS label`, `cityHash64(id) % ${HOLDOUT_EVERY} = 0 AS holdout`].join(', ')} ${fromWhere(definition, tenantId)}`;
}

/** One row: rows, positives. */
export function statsQuery(definition: DatasetDefinition, tenantId: string): string {
  return `SELECT count() AS rows, sum(${labelSql(definition)}) AS positives ${fromWhere(definition, tenantId)}`;
}

export function describeLabel(label: DatasetDefinition['label']): string {
  return `${label.column} ${label.op} ${JSON.stringify(label.value)}`;
}

/** The features of a record of the table's topic, in the definition's order: what `rowsQuery` gives for its row. */
export function recordFeatures(definition: DatasetDefinition, record: SourceRecord): RawValue[] {
  const table = TABLES[definition.table]!;
  return definition.features.map((f) => table.features[f]!.of(record));
}

/** The label rule of the definition applied to a record of the table's topic, as `rowsQuery` applies it to its row. */
export function recordLabel(definition: DatasetDefinition, record: SourceRecord): 0 | 1 {
  const { column, op, value } = definition.label;
  const time = TABLES[definition.table]!.columns[column] === 'time';
  const actual = time ? timeOf(record, column).getTime() : record[column];
  const wanted = time ? Date.parse(String(value)) : value;
  const compare =
    typeof actual === 'number' && typeof wanted === 'number'
      ? actual - wanted
      : String(actual) < String(wanted)
        ? -1
        : String(actual) > String(wanted)
          ? 1
          : 0;
  const holds = {
    '=': compare === 0,
    '!=': compare !== 0,
    '>': compare > 0,
    '>=': compare >= 0,
    '<': compare < 0,
    '<=': compare <= 0,
  }[op];
  return holds ? 1 : 0;
}
