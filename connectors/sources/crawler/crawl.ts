/**
 * A resumable crawl: fetches a frontier of URLs (and those `onPage` discovers) through one
 * Fetcher, skipping every URL the fetch log says this crawl already fetched. Failures are
 * collected with their reason; they never stop the rest.
 */
import { FetchError, type Fetched, type Fetcher } from '../../../domain/crawl/fetcher.ts';
import type { FetchLog } from '../../../domain/crawl/fetch-log.ts';

export interface CrawlOptions {
  crawl: string;
  fetcher: Fetcher;
  log: FetchLog;
  seeds: Iterable<string>;
  accept?: readonly string[];
  /** Handles a page; the URLs it returns join the frontier. A skipped (already fetched) page is not handed over again. */
  onPage: (page: Fetched) => Promise<string[] | void>;
}

export interface CrawlReport {
  fetched: number;
  skipped: number;
  failed: { url: string; outcome: string; message: string }[];
}

export async function runCrawl(options: CrawlOptions): Promise<CrawlReport> {
  const done = await options.log.fetched(options.crawl);
  const seen = new Set<string>();
  const report: CrawlReport = { fetched: 0, skipped: 0, failed: [] };
  const inFlight = new Set<Promise<void>>();

  const visit = (url: string): void => {
    if (seen.has(url)) return;
    seen.add(url);
    if (done.has(url)) {
      report.skipped += 1;
      return;
    }
    const task = options.fetcher
      .fetch(url, options.accept, options.crawl)
      .then(async (page) => {
        report.fetched += 1;
        for (const next of (await options.onPage(page)) ?? []) visit(next);
      })
      .catch((error: unknown) => {
        if (!(error instanceof FetchError)) throw error;
        report.failed.push({ url, outcome: error.outcome, message: error.message });
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  for (const url of options.seeds) visit(url);
  while (inFlight.size > 0) await Promise.all(inFlight);
  await options.log.flush();
  return report;
}
