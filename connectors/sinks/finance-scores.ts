/** The finance pipeline's sinks: `finance.statements.scored` into `finance_scores` in Postgres and ClickHouse. */
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { ScoreRecord } from '../../schemas/records/finance.ts';
import { copied, eventTime, sourcePosition } from './columns.ts';

const DAY_MS = 86_400_000;
/** Avro date (days since 1970-01-01) as the ISO date both databases parse. */
const isoDate = (days: number) => new Date(days * DAY_MS).toISOString().slice(0, 10);

const columns = {
  ...copied<ScoreRecord>('id', 'tenant_id', 'company_id'),
  period_end: (s: ScoreRecord) => isoDate(s.period),
  ...copied<ScoreRecord>(
    'kind',
    'ohlson_probability',
    'zmijewski_probability',
    'altman_probability',
    'altman_z',
    'altman_zone',
    'probability',
    'category',
    'model_id',
    'model_version',
  ),
};

/**
 * `finance-scores-postgres`: finance.statements.scored -> Postgres `finance_scores`.
 *
 * @example
 * ```sh
 * npx millrace sink finance-scores-postgres
 * ```
 */
export const scoresToPostgres: SinkSpec<ScoreRecord> = defineSink<ScoreRecord>({
  name: 'finance-scores-postgres',
  description:
    "Default-probability scores into Postgres: the entities the predictions and companies API reads, and what marks a bulk job's rows as scored.",
  topic: 'finance.statements.scored',
  target: 'postgres',
  table: 'finance_scores',
  key: ['tenant_id', 'id'],
  columns: {
    ...columns,
    scored_at: (s) => new Date(s.event_time),
    ...sourcePosition,
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
export const scoresToClickHouse: SinkSpec<ScoreRecord> = defineSink<ScoreRecord>({
  name: 'finance-scores-clickhouse',
  description: 'Default-probability scores into ClickHouse: the `finance_scores` analytics view and its rollups.',
  topic: 'finance.statements.scored',
  target: 'clickhouse',
  table: 'finance_scores',
  key: ['tenant_id', 'id'],
  columns: { ...columns, ...eventTime },
});
