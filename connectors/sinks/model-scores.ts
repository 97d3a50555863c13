/**
 * The model-scoring sinks: the active versions' scores (`samples.flights.scored`) into
 * `model_scores`, the shadow versions' (`samples.flights.shadow`) into `model_shadow_scores`.
 */
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { ActiveScore, ShadowScore } from '../../schemas/records/model-scores.ts';
import { copied, eventTime } from './columns.ts';

const columns = {
  ...copied<ActiveScore>('id', 'tenant_id', 'model_id', 'model_version', 'label', 'probability', 'actual'),
  ...eventTime,
};

/**
 * `model-scores-clickhouse`: samples.flights.scored -> ClickHouse `model_scores`.
 *
 * @example
 * ```sh
 * npx millrace sink model-scores-clickhouse
 * ```
 */
export const modelScoresToClickHouse: SinkSpec<ActiveScore> = defineSink<ActiveScore>({
  name: 'model-scores-clickhouse',
  description: "The active model versions' scores of the sample flights into ClickHouse.",
  topic: 'samples.flights.scored',
  target: 'clickhouse',
  table: 'model_scores',
  key: ['tenant_id', 'id'],
  columns,
});

/**
 * `model-shadow-scores-clickhouse`: samples.flights.shadow -> ClickHouse `model_shadow_scores`.
 *
 * @example
 * ```sh
 * npx millrace sink model-shadow-scores-clickhouse
 * ```
 */
export const shadowScoresToClickHouse: SinkSpec<ShadowScore> = defineSink<ShadowScore>({
  name: 'model-shadow-scores-clickhouse',
  description:
    "Shadow model versions' scores, each with the active version's score of the same record, into ClickHouse: what the version comparison (GET /v1/models/{id}/versions/{v}/comparison) counts.",
  topic: 'samples.flights.shadow',
  target: 'clickhouse',
  table: 'model_shadow_scores',
  key: ['tenant_id', 'id'],
  columns: {
    ...columns,
    ...copied<ShadowScore>('active_version', 'active_label', 'active_probability'),
  },
});
