/** The image-validation processor's component spec (what `millrace help image-validation` prints). */
import * as field from '../../core/component-fields.ts';
import { processorComponent } from '../component.ts';

/**
 * `image-validation`: found images -> downloaded, judged, deduplicated and stored images.
 *
 * @example
 * ```sh
 * CRAWL_NEAR_DUPLICATE_DISTANCE=4 npx millrace processor image-validation
 * ```
 */
export const imageValidationComponent = processorComponent({
  name: 'image-validation',
  description:
    'Downloads, judges, deduplicates and stores the images a dataset crawl found. ' +
    'Each image is downloaded through the polite crawler Fetcher (robots.txt, per-host limits, size cap, fetch log), ' +
    'its format sniffed from the bytes (the content type may lie), its dimensions and dHash decoded, and it is judged: rejected with a reason ' +
    '(download_failed, unknown_format, format_not_allowed, corrupt, too_small), an exact (sha256) or near (dHash) duplicate of one the dataset has, ' +
    'or accepted: stored as a file, its metadata in Postgres, and published. Verdicts are kept once per image in Postgres, so a redelivered record is neither downloaded nor judged again. ' +
    'A record naming a dataset its tenant does not have goes to the DLQ.',
  input: 'crawl.images.raw',
  output: 'crawl.images.accepted',
  writes: [
    'files `$CRAWL_DATASETS_DIR/<tenant>/<dataset>/<sha256>.<ext>`',
    'Postgres image_dataset_items (one verdict per image)',
    'ClickHouse fetch_log',
  ],
  env: [
    { ...field.CRAWL_DATASETS_DIR, description: 'where accepted images are stored' },
    {
      name: 'CRAWL_NEAR_DUPLICATE_DISTANCE',
      type: 'integer',
      default: '6',
      description:
        'images whose dHashes differ in at most this many of 64 bits are near-duplicates; the first one is kept',
      example: '4',
    },
    {
      name: 'CRAWL_IMAGE_MAX_BYTES',
      type: 'integer',
      default: '10485760',
      description: 'largest image downloaded; a larger one is rejected as download_failed',
      example: '5242880',
    },
    ...field.CRAWL_PER_HOST,
    {
      ...field.CRAWL_ALLOWED_HOSTS,
      description: `${field.CRAWL_ALLOWED_HOSTS.description}; the search endpoints' hosts are allowed too`,
    },
    field.CRAWL_SEARCH_ENDPOINTS,
    { ...field.POSTGRES_URL, description: 'the Postgres database: datasets, verdicts and accepted images' },
    { ...field.CLICKHOUSE_URL, description: `${field.CLICKHOUSE_URL.description}: the fetch log` },
  ],
  example: [
    'npx millrace processor image-validation',
    '# images arrive when a dataset is crawled: POST /v1/image-datasets {"name":"cats","keywords":["cat"],"per_keyword":50}',
  ].join('\n'),
});
