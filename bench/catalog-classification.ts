/**
 * Rows/s through the catalog classifier's transform (featurise, one ONNX run per batch, reference
 * fallback, attribute matching) on one core, by batch size, over real movie titles (vega-datasets)
 * with the demo genre model and a taxonomy of 12 genres and 3 attribute groups.
 * Run: node --import tsx bench/catalog-classification.ts
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../core/config.ts';
import { classifierContext, classifyBatch } from '../processors/catalog/classify.ts';
import { loadGenreModel } from '../processors/catalog/genre-model.ts';
import { ReferenceStore } from '../domain/catalog/reference-store.ts';
import { taxonomySchema } from '../domain/catalog/taxonomy.ts';

const require = createRequire(import.meta.url);
const movies = (
  JSON.parse(
    readFileSync(path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'movies.json'), 'utf8'),
  ) as { Title: unknown; 'Major Genre': string | null }[]
)
  .filter((m) => typeof m.Title === 'string' && m['Major Genre'])
  .map((m) => ({ text: `${String(m.Title)} DVD collector edition`, genre: m['Major Genre']! }));

const model = await loadGenreModel(loadConfig().CATALOG_GENRE_MODEL_DIR, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
});
const taxonomy = taxonomySchema.parse({
  genres: model.labels,
  attributes: {
    format: ['DVD', 'Blu-ray', 'VHS'],
    edition: ['Collector', 'Standard', 'Director’s Cut'],
    language: ['English', 'French', 'German'],
  },
});
const context = classifierContext(taxonomy, new ReferenceStore(movies.slice(0, 1000), model.dimensions));

for (const batch of [1, 100, 1000]) {
  let done = 0;
  const started = performance.now();
  while (performance.now() - started < 2000) {
    // every batch takes the next titles: the same row again would hide the reference fallback's cost
    const rows = Array.from({ length: batch }, (_, i) => ({ text: movies[(done + i) % movies.length]!.text, context }));
    await classifyBatch(model, rows);
    done += batch;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `batch ${String(batch).padStart(5)}: ${Math.round(done / seconds)
      .toString()
      .padStart(7)} rows/s\n`,
  );
}
await model.release();
