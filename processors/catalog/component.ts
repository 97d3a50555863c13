/** The catalog-classification processor's component spec (what `millrace help catalog-classification` prints). */
import { POSTGRES_URL } from '../../core/component-fields.ts';
import { processorComponent } from '../component.ts';

/**
 * `catalog-classification`: uploaded product rows -> genre and attributes from the merchant's taxonomy.
 *
 * @example
 * ```sh
 * npx millrace processor catalog-classification
 * ```
 */
export const catalogClassificationComponent = processorComponent({
  name: 'catalog-classification',
  description:
    "Classifies uploaded product rows into one of the merchant's genres, with attribute values from their own lists. " +
    'Rows are grouped by the taxonomy they name (read from Postgres, cached per version; one named without a version is re-read after a minute), ' +
    'the text is normalised, attribute values matched exactly and fuzzily, and the rows scored, a batch at once, by the active version of the ONNX genre model their taxonomy names ' +
    "in the model registry (the platform's `catalog-genre` unless the taxonomy names the tenant's own), each followed without a restart; when the model is unsure, the taxonomy's reference items' nearest neighbours decide. " +
    'Each output row names the taxonomy version, the model version and what decided. A row naming no taxonomy, or one that does not exist, goes to the DLQ saying so.',
  input: 'catalog.rows.raw',
  output: 'catalog.rows.classified',
  env: [
    {
      name: 'CATALOG_GENRE_MODEL_DIR',
      type: 'path',
      default: '<checkout>/models/catalog-genre',
      description:
        'the bundled genre model (manifest.json + model.onnx), registered on first use and activated when the registry has no active version',
      example: '/srv/millrace/models/catalog-genre',
    },
    { ...POSTGRES_URL, description: 'the Postgres database: taxonomies and the model registry' },
  ],
  example: [
    'npx millrace processor catalog-classification',
    '# rows arrive when an upload is processed: POST /v1/uploads/<upload>/process {"columns":["sku","title"],"taxonomy":"films"}',
  ].join('\n'),
});
