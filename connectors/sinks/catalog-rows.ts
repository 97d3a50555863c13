/** Classified product rows into ClickHouse `catalog_rows` (analytics, and uploads' result files). */
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { ClassifiedRow } from '../../schemas/records/catalog.ts';

/**
 * `catalog-rows-clickhouse`: catalog.rows.classified -> ClickHouse `catalog_rows`.
 *
 * @example
 * ```sh
 * npx millrace sink catalog-rows-clickhouse
 * ```
 */
export const classifiedToClickHouse: SinkSpec<ClassifiedRow> = defineSink({
  name: 'catalog-rows-clickhouse',
  description: "Classified product rows into ClickHouse: the `catalog_rows` analytics view, uploads' progress and their result files.",
  topic: 'catalog.rows.classified',
  target: 'clickhouse',
  table: 'catalog_rows',
  key: 'id',
  columns: {
    id: (r) => r.id,
    tenant_id: (r) => r.tenant_id,
    upload_id: (r) => r.upload_id,
    row_number: (r) => r.row_number,
    taxonomy: (r) => r.taxonomy,
    genre: (r) => r.genre ?? '',
    confidence: (r) => r.confidence,
    decided_by: (r) => r.decided_by,
    model_id: (r) => r.model_id,
    model_version: (r) => r.model_version,
    attributes: (r) => JSON.stringify(r.attributes),
    fields: (r) => JSON.stringify(r.fields),
    event_time: (r) => new Date(r.event_time),
  },
});
