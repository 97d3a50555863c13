/**
 * The catalog classification processor: `catalog.rows.raw` -> `catalog.rows.classified`. Rows are
 * grouped by the taxonomy they name (loaded from Postgres, cached per version), and the whole batch
 * goes through the genre model at once. A row naming no taxonomy, or one that does not exist, goes
 * to the DLQ saying so.
 */
import type { Pool } from '../../core/postgres.ts';
import type { ProcessorSpec, TransformResult } from '../runtime/index.ts';
import { classifierContext, classifyBatch, type ClassifierContext } from './classify.ts';
import type { GenreModel } from './genre-model.ts';
import { ReferenceStore } from '../../domain/catalog/reference-store.ts';
import { loadTaxonomy, TaxonomyNotFoundError } from '../../domain/catalog/taxonomy-store.ts';
import type { ClassifiedRow, UploadedRow } from '../../schemas/records/catalog.ts';
import { lineageOf } from '../runtime/lineage.ts';

/** A taxonomy named without a version is re-read after this long: a new version is picked up. */
const LATEST_TTL_MS = 60_000;

export function catalogClassification(
  deps: { db: Pool; model: () => Promise<GenreModel> },
  topics = { input: 'catalog.rows.raw', output: 'catalog.rows.classified' },
): ProcessorSpec<UploadedRow, ClassifiedRow> {
  const contexts = new Map<string, { at: number; loaded: Promise<{ ref: string; context: ClassifierContext }> }>();
  const contextOf = (tenant: string, ref: string, dimensions: number) => {
    const key = `${tenant}|${ref}|${dimensions}`;
    const cached = contexts.get(key);
    if (cached && (ref.includes('@') || Date.now() - cached.at < LATEST_TTL_MS)) return cached.loaded;
    const loaded = loadTaxonomy(deps.db, tenant, ref).then((stored) => ({
      ref: `${stored.id}@${stored.version}`,
      context: classifierContext(
        stored.taxonomy,
        stored.references.length > 0 ? new ReferenceStore(stored.references, dimensions) : undefined,
      ),
    }));
    // a failed load is not cached: the next batch asks again
    loaded.catch(() => contexts.delete(key));
    contexts.set(key, { at: Date.now(), loaded });
    return loaded;
  };

  return {
    name: 'catalog-classification',
    ...topics,
    async transform(records) {
      const model = await deps.model();
      const results: TransformResult<ClassifiedRow>[] = records.map(() => []);
      const pending: { index: number; text: string; ref: string; context: ClassifierContext }[] = [];
      for (const [index, record] of records.entries()) {
        const { taxonomy, tenant_id } = record.value;
        if (!taxonomy) {
          results[index] = new TaxonomyNotFoundError(
            `row ${record.value.id} names no taxonomy: process the upload with {"taxonomy": "<id>"}`,
          );
          continue;
        }
        try {
          const { ref, context } = await contextOf(tenant_id, taxonomy, model.dimensions);
          pending.push({ index, text: Object.values(record.value.fields).join(' '), ref, context });
        } catch (error) {
          if (!(error instanceof TaxonomyNotFoundError)) throw error; // Postgres away: the batch is retried
          results[index] = error;
        }
      }
      const classified = await classifyBatch(model, pending);
      pending.forEach(({ index, ref }, i) => {
        const record = records[index]!;
        const { value } = record;
        results[index] = [
          {
            ...lineageOf(record),
            upload_id: value.upload_id,
            row_number: value.row_number,
            taxonomy: ref,
            ...classified[i]!,
            model_id: model.id,
            model_version: model.version,
            fields: value.fields,
          },
        ];
      });
      return results;
    },
  };
}
