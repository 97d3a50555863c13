/** The finance pipeline's sinks: `finance.statements.scored` into `finance_scores` in Postgres and ClickHouse. */
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { ScoreRecord } from '../../schemas/records/finance.ts';

const DAY_MS = 86_400_000;
/** Avro date (days since 1970-01-01) as the ISO date both databases parse. */
const isoDate = (days: number) => new Date(days * DAY_MS).toISOString().slice(0, 10);

const columns = {
  id: (s: ScoreRecord) => s.id,
  tenant_id: (s: ScoreRecord) => s.tenant_id,
  company_id: (s: ScoreRecord) => s.company_id,
  period_end: (s: ScoreRecord) => isoDate(s.period),
  kind: (s: ScoreRecord) => s.kind,
  ohlson_probability: (s: ScoreRecord) => s.ohlson_probability,
  zmijewski_probability: (s: ScoreRecord) => s.zmijewski_probability,
  altman_probability: (s: ScoreRecord) => s.altman_probability,
  altman_z: (s: ScoreRecord) => s.altman_z,
  altman_zone: (s: ScoreRecord) => s.altman_zone,
  probability: (s: ScoreRecord) => s.probability,
  category: (s: ScoreRecord) => s.category,
  model_id: (s: ScoreRecord) => s.model_id,
  model_version: (s: ScoreRecord) => s.model_version,
};

/**
 * `finance-scores-postgres`: finance.statements.scored -> Postgres `finance_scores`.
 *
 * @example
 * ```sh
 * npx millrace sink finance-scores-postgres
 * ```
 */
export const scoresToPostgres: SinkSpec<ScoreRecord> = defineSink({
  name: 'finance-scores-postgres',
  description: "Default-probability scores into Postgres: the entities the predictions and companies API reads, and what marks a bulk job's rows as scored.",
  topic: 'finance.statements.scored',
  target: 'postgres',
  table: 'finance_scores',
  key: 'id',
  columns: {
    ...columns,
    scored_at: (s) => new Date(s.event_time),
    source_partition: (_, meta) => meta.partition,
    source_offset: (_, meta) => meta.offset,
  },
});

/**
 * `finance-scores-clickhouse`: finance.statements.scored -> ClickHouse `finance_scores`.
 *
 * @example
 * ```sh
 * npx millrace sink finance-scores-clickhouse
 * ```
 */
export const scoresToClickHouse: SinkSpec<ScoreRecord> = defineSink({
  name: 'finance-scores-clickhouse',
  description: 'Default-probability scores into ClickHouse: the `finance_scores` analytics view and its rollups.',
  topic: 'finance.statements.scored',
  target: 'clickhouse',
  table: 'finance_scores',
  key: 'id',
  columns: { ...columns, event_time: (s) => new Date(s.event_time) },
});
