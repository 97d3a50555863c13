/**
 * The catalog classification processor: `catalog.rows.raw` -> `catalog.rows.classified`. Rows are
 * grouped by the taxonomy they name (loaded from Postgres, cached per version), and the rows of
 * each genre model (the one their taxonomy names: the platform's `catalog-genre` unless it names
 * the tenant's own) go through it at once. A row naming no taxonomy, or one that does not exist,
 * or whose model has no usable active version, goes to the DLQ saying so.
 */
import type { Pool } from '../../core/postgres.ts';
import type { ProcessorSpec, TransformResult } from '../runtime/index.ts';
import { classifierContext, classifyBatch, type ClassifierContext } from './classify.ts';
import { GenreModelUnavailableError, type GenreModel } from './genre-model.ts';
import { ReferenceStore } from '../../domain/catalog/reference-store.ts';
import { loadTaxonomy, TaxonomyNotFoundError, type StoredTaxonomy } from '../../domain/catalog/taxonomy-store.ts';
import type { ClassifiedRow, UploadedRow } from '../../schemas/records/catalog.ts';
import { lineageOf } from '../runtime/lineage.ts';

/** A taxonomy named without a version is re-read after this long: a new version is picked up. */
const LATEST_TTL_MS = 60_000;

/** A taxonomy as the processor uses it: its ref, the model it names, its context per feature size. */
interface LoadedTaxonomy {
  ref: string;
  model: string;
  /** The reference store hashes texts as the model does, so there is one context per model size. */
  contextFor(dimensions: number): ClassifierContext;
}

function loaded(stored: StoredTaxonomy): LoadedTaxonomy {
  const contexts = new Map<number, ClassifierContext>();
  return {
    ref: `${stored.id}@${stored.version}`,
    model: stored.model,
    contextFor(dimensions) {
      let context = contexts.get(dimensions);
      if (!context) {
        const references = stored.references.length > 0 ? new ReferenceStore(stored.references, dimensions) : undefined;
        contexts.set(dimensions, (context = classifierContext(stored.taxonomy, references)));
      }
      return context;
    },
  };
}

/**
 * `model` gives the active version of a genre model by id (processors/catalog/active-genre-model.ts);
 * each row is classified by the model its taxonomy names.
 */
export function catalogClassification(
  deps: { db: Pool; model: (modelId: string) => Promise<GenreModel> },
  topics = { input: 'catalog.rows.raw', output: 'catalog.rows.classified' },
): ProcessorSpec<UploadedRow, ClassifiedRow> {
  const taxonomies = new Map<string, { at: number; loaded: Promise<LoadedTaxonomy> }>();
  const taxonomyOf = (tenant: string, ref: string) => {
    const key = `${tenant}|${ref}`;
    const cached = taxonomies.get(key);
    if (cached && (ref.includes('@') || Date.now() - cached.at < LATEST_TTL_MS)) return cached.loaded;
    const loading = loadTaxonomy(deps.db, tenant, ref).then(loaded);
    // a failed load is not cached: the next batch asks again
    loading.catch(() => taxonomies.delete(key));
    taxonomies.set(key, { at: Date.now(), loaded: loading });
    return loading;
  };

  return {
    name: 'catalog-classification',
    ...topics,
    async transform(records) {
      const results: TransformResult<ClassifiedRow>[] = records.map(() => []);
      // rows by the model that classifies them: each model scores its rows in one batch
      const pending = new Map<GenreModel, { index: number; text: string; ref: string; context: ClassifierContext }[]>();
      for (const [index, record] of records.entries()) {
        const { taxonomy, tenant_id } = record.value;
        if (!taxonomy) {
          results[index] = new TaxonomyNotFoundError(
            `row ${record.value.id} names no taxonomy: process the upload with {"taxonomy": "<id>"}`,
          );
          continue;
        }
        try {
          const named = await taxonomyOf(tenant_id, taxonomy);
          const model = await deps.model(named.model);
          const rows = pending.get(model) ?? [];
          pending.set(model, rows);
          rows.push({
            index,
            text: Object.values(record.value.fields).join(' '),
            ref: named.ref,
            context: named.contextFor(model.dimensions),
          });
        } catch (error) {
          // anything else (Postgres away) fails the batch, which is retried
          if (!(error instanceof TaxonomyNotFoundError || error instanceof GenreModelUnavailableError)) throw error;
          results[index] = error;
        }
      }
      for (const [model, rows] of pending) {
        const classified = await classifyBatch(model, rows);
        rows.forEach(({ index, ref }, i) => {
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
      }
      return results;
    },
  };
}
