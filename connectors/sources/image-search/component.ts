/** The image-search source's component spec (what `millrace help image-search` prints). */
import * as field from '../../../core/component-fields.ts';
import { defineComponent } from '../../../core/component-spec.ts';

/**
 * `image-search`: an image dataset's keywords -> image URLs found on search engines, on crawl.images.raw. Run by the API.
 *
 * @example
 * ```sh
 * curl -s -X POST -H "authorization: Bearer $KEY" -H 'content-type: application/json' 127.0.0.1:8080/v1/image-datasets -d '{"name":"cats","keywords":["cat"]}'
 * ```
 */
export const imageSearchComponent = defineComponent({
  kind: 'source',
  name: 'image-search',
  description:
    "Finds images for a dataset's keywords on image search engines. " +
    "Each keyword is expanded (itself, its plural, built-in synonyms, the caller's extras), " +
    'and for each search term on each endpoint results pages are fetched one after another (following rel=next) through the polite crawler Fetcher ' +
    "until the keyword has `per_keyword` image URLs; each page's new URLs are published, then the page is logged in Postgres, so a restarted crawl skips it. " +
    'Crawls run in the API process that received the request; one cut short is resumed by the next API to start, and an advisory lock keeps two from crawling one dataset. ' +
    'The image-validation processor downloads and judges what it finds.',
  input: [],
  output: ['crawl.images.raw'],
  rejects:
    'a results page that cannot be fetched is recorded with its error in the page log (and every attempt in ClickHouse fetch_log); the crawl goes on',
  writes: ['Postgres image_datasets, image_dataset_pages, image_dataset_candidates', 'ClickHouse fetch_log'],
  runs: 'the API: POST /v1/image-datasets',
  config: [
    {
      ...field.CRAWL_SEARCH_ENDPOINTS,
      description:
        'the image search endpoints, comma-separated URL templates with {q} for the search term; their hosts may be fetched even when local',
    },
    ...field.CRAWL_PER_HOST,
    field.CRAWL_ALLOWED_HOSTS,
    { ...field.CRAWL_DATASETS_DIR, description: `${field.CRAWL_DATASETS_DIR.description} (their export reads them)` },
    { ...field.POSTGRES_URL, description: 'the Postgres database: datasets and the page log' },
    { ...field.CLICKHOUSE_URL, description: `${field.CLICKHOUSE_URL.description}: the fetch log` },
  ],
  example: [
    'curl -s -X POST -H "authorization: Bearer $KEY" -H \'content-type: application/json\' 127.0.0.1:8080/v1/image-datasets \\',
    '  -d \'{"name":"cats","keywords":["cat"],"per_keyword":50,"min_width":64,"min_height":64}\'',
    'curl -s -H "authorization: Bearer $KEY" 127.0.0.1:8080/v1/image-datasets/<dataset>   # found, validated, accepted …',
  ].join('\n'),
});
