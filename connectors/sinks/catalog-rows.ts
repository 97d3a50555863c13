/** Classified product rows into ClickHouse `catalog_rows` (analytics, and uploads' result files). */
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { ClassifiedRow } from '../../schemas/records/catalog.ts';
import { copied, eventTime } from './columns.ts';

/**
 * `catalog-rows-clickhouse`: catalog.rows.classified -> ClickHouse `catalog_rows`.
 *
 * @example
 * ```sh
 * npx millrace sink catalog-rows-clickhouse
 * ```
 */
export const classifiedToClickHouse: SinkSpec<ClassifiedRow> = defineSink<ClassifiedRow>({
  name: 'catalog-rows-clickhouse',
  description:
    "Classified product rows into ClickHouse: the `catalog_rows` analytics view, uploads' progress and their result files.",
  topic: 'catalog.rows.classified',
  target: 'clickhouse',
  table: 'catalog_rows',
  key: ['tenant_id', 'id'],
  columns: {
    ...copied<ClassifiedRow>('id', 'tenant_id', 'upload_id', 'row_number', 'taxonomy'),
    genre: (r) => r.genre ?? '',
    ...copied<ClassifiedRow>('confidence', 'decided_by', 'model_id', 'model_version'),
    attributes: (r) => JSON.stringify(r.attributes),
    fields: (r) => JSON.stringify(r.fields),
    ...eventTime,
  },
});
