/**
 * The model-scoring sinks: the active versions' scores (`samples.flights.scored`) into
 * `model_scores`, the shadow versions' (`samples.flights.shadow`) into `model_shadow_scores`.
 */
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { ActiveScore, ShadowScore } from '../../schemas/records/model-scores.ts';

const columns = {
  id: (s: ActiveScore) => s.id,
  tenant_id: (s: ActiveScore) => s.tenant_id,
  model_id: (s: ActiveScore) => s.model_id,
  model_version: (s: ActiveScore) => s.model_version,
  label: (s: ActiveScore) => s.label,
  probability: (s: ActiveScore) => s.probability,
  actual: (s: ActiveScore) => s.actual,
  event_time: (s: ActiveScore) => new Date(s.event_time),
};

/**
 * `model-scores-clickhouse`: samples.flights.scored -> ClickHouse `model_scores`.
 *
 * @example
 * ```sh
 * npx millrace sink model-scores-clickhouse
 * ```
 */
export const modelScoresToClickHouse: SinkSpec<ActiveScore> = defineSink({
  name: 'model-scores-clickhouse',
  description: "The active model versions' scores of the sample flights into ClickHouse.",
  topic: 'samples.flights.scored',
  target: 'clickhouse',
  table: 'model_scores',
  key: 'id',
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
export const shadowScoresToClickHouse: SinkSpec<ShadowScore> = defineSink({
  name: 'model-shadow-scores-clickhouse',
  description: "Shadow model versions' scores, each with the active version's score of the same record, into ClickHouse: what the version comparison (GET /v1/models/{id}/versions/{v}/comparison) counts.",
  topic: 'samples.flights.shadow',
  target: 'clickhouse',
  table: 'model_shadow_scores',
  key: 'id',
  columns: {
    ...columns,
    active_version: (s: ShadowScore) => s.active_version,
    active_label: (s: ShadowScore) => s.active_label,
    active_probability: (s: ShadowScore) => s.active_probability,
  },
});
