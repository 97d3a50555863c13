/**
 * One dataset's crawl: for each keyword, each of its search terms on each search endpoint, results
 * pages are fetched one after another (following rel=next) until the keyword has `per_keyword`
 * image URLs; each page's new URLs are published to crawl.images.raw, then recorded with the page
 * in Postgres.
 *
 * Resuming: the page log in Postgres is written after a page's images are acknowledged by Kafka,
 * and a restarted crawl skips every page in it (taking its next link from the log), so nothing is
 * fetched twice and nothing fetched is lost. (The ClickHouse fetch log, which the Fetcher writes
 * for every attempt, is written when the page arrives, before its images are published, so it
 * cannot say a page is finished.) A page fetched and published but not yet logged when the crash
 * came is fetched again, and its images published again with the same record ids; the validate
 * processor keeps one verdict per image URL.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../../core/logger.ts';
import { inTransaction, type Pool } from '../../../core/postgres.ts';
import type { AvroProducer } from '../../../core/producer.ts';
import { FetchError, type Fetcher } from '../../../domain/crawl/fetcher.ts';
import { parseSearchResults } from './search-results.ts';

export const FOUND_TOPIC = 'crawl.images.raw';

export interface CrawlTarget {
  id: string;
  tenant_id: string;
  per_keyword: number;
  keywords: { keyword: string; terms: string[] }[];
}

export interface CrawlDeps {
  db: Pool;
  producer: AvroProducer;
  fetcher: Fetcher;
  log: Logger;
  /** URL templates with {q}. */
  searchEndpoints: readonly string[];
  /** Where found images are published (FOUND_TOPIC; benchmarks use a topic of their own). */
  topic?: string;
  /** Whether the crawl was cancelled: asked before each search page, none is fetched once it is. */
  cancelled?: () => Promise<boolean>;
}

/** The id of a found image: the same for the same image URL in the same dataset, however often it is published. */
export const foundImageId = (datasetId: string, url: string): string =>
  `img_${createHash('sha256').update(`${datasetId}\n${url}`).digest('hex').slice(0, 40)}`;

export const searchUrl = (template: string, term: string): string =>
  template.replaceAll('{q}', encodeURIComponent(term));

export async function crawlDataset(deps: CrawlDeps, target: CrawlTarget): Promise<void> {
  const { db, producer, fetcher, log } = deps;
  const [{ rows: pages }, { rows: candidates }] = await Promise.all([
    db.query<{ url: string; next_url: string | null }>(
      'SELECT url, next_url FROM image_dataset_pages WHERE dataset_id = $1',
      [target.id],
    ),
    db.query<{ url: string; keyword: string }>(
      'SELECT url, keyword FROM image_dataset_candidates WHERE dataset_id = $1',
      [target.id],
    ),
  ]);
  const done = new Map(pages.map((p) => [p.url, p.next_url]));
  const seen = new Set(candidates.map((c) => c.url));
  const found = new Map<string, number>();
  for (const c of candidates) found.set(c.keyword, (found.get(c.keyword) ?? 0) + 1);
  if (done.size > 0) log.info({ dataset: target.id, pages: done.size, found: seen.size }, 'resuming crawl');

  for (const { keyword, terms } of target.keywords) {
    for (const term of terms) {
      for (const template of deps.searchEndpoints) {
        let url: string | null = searchUrl(template, term);
        while (url && (found.get(keyword) ?? 0) < target.per_keyword) {
          if (done.has(url)) {
            url = done.get(url) ?? null;
            continue;
          }
          if (await deps.cancelled?.()) {
            log.info({ dataset: target.id }, 'crawl cancelled');
            return;
          }
          const pageUrl: string = url;
          let page;
          try {
            page = await fetcher.fetch(pageUrl, ['text/html'], target.id);
          } catch (error) {
            if (!(error instanceof FetchError)) throw error;
            log.warn(
              { dataset: target.id, url: pageUrl, outcome: error.outcome, reason: error.message },
              'search page failed',
            );
            await db.query(
              'INSERT INTO image_dataset_pages (dataset_id, url, keyword, found, error) VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING',
              [target.id, pageUrl, keyword, error.message],
            );
            break;
          }
          const results = parseSearchResults(page.body.toString('utf8'), page.finalUrl);
          const room = target.per_keyword - (found.get(keyword) ?? 0);
          const fresh = results.images.filter((image) => !seen.has(image)).slice(0, room);
          const eventTime = Date.now();
          const records = fresh.map((image) => ({
            value: {
              id: foundImageId(target.id, image),
              tenant_id: target.tenant_id,
              event_time: eventTime,
              source: 'crawler',
              dataset_id: target.id,
              keyword,
              search_term: term,
              url: image,
              page_url: pageUrl,
              position: results.images.indexOf(image),
            },
          }));
          if (records.length > 0) await producer.send(deps.topic ?? FOUND_TOPIC, records);
          await recordPage(
            db,
            target.id,
            keyword,
            pageUrl,
            results.next,
            records.map((r) => r.value),
          );
          for (const image of fresh) seen.add(image);
          found.set(keyword, (found.get(keyword) ?? 0) + fresh.length);
          url = results.next;
        }
      }
    }
  }
}

async function recordPage(
  db: Pool,
  datasetId: string,
  keyword: string,
  pageUrl: string,
  next: string | null,
  images: { id: string; url: string }[],
): Promise<void> {
  await inTransaction(db, async (client) => {
    await client.query(
      `INSERT INTO image_dataset_candidates (dataset_id, url, record_id, keyword, page_url)
       SELECT $1, url, record_id, $3, $4 FROM unnest($2::text[], $5::text[]) AS t (url, record_id) ON CONFLICT DO NOTHING`,
      [datasetId, images.map((i) => i.url), keyword, pageUrl, images.map((i) => i.id)],
    );
    await client.query(
      'INSERT INTO image_dataset_pages (dataset_id, url, keyword, found, next_url) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [datasetId, pageUrl, keyword, images.length, next],
    );
  });
}
