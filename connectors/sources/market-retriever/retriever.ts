/**
 * The market retriever: for a tenant's symbol, fetches the history pages (one resumable crawl a
 * day, oldest first) and then the quote page (every run), so a symbol's bars reach the indicators in
 * time order, and publishes each page as fetched, gzip-compressed, to
 * market.pages.raw, keyed by symbol. A symbol with a market-data feed (Stooq or Yahoo CSV, Alpha
 * Vantage JSON) has its feed's URL fetched instead, once a run, and published with its format.
 * Parsing happens downstream, so a parser fix can re-read stored pages instead of fetching again.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../../../core/logger.ts';
import type { AvroProducer } from '../../../core/producer.ts';
import { runCrawl, type CrawlReport } from '../crawler/crawl.ts';
import { FetchError, type Fetched, type Fetcher } from '../../../domain/crawl/fetcher.ts';
import type { FetchLog } from '../../../domain/crawl/fetch-log.ts';
import type { PageRecord } from '../../../schemas/records/market.ts';
import type { FeedFormat } from '../../../domain/market/feeds.ts';

export const PAGES_TOPIC = 'market.pages.raw';

export interface RetrieverDeps {
  fetcher: Fetcher;
  log: FetchLog;
  producer: AvroProducer;
  siteUrl: string;
  logger: Logger;
}

/** Where a symbol's bars come from: a provider's format and URL (none: the demo site's pages). */
export interface Feed {
  format: FeedFormat;
  url: string;
}

export interface RetrieveReport {
  pages: number;
  failed: CrawlReport['failed'];
}

export class MarketRetriever {
  constructor(private readonly deps: RetrieverDeps) {}

  async retrieve(tenantId: string, symbol: string, now = new Date(), feed?: Feed): Promise<RetrieveReport> {
    if (feed) return this.retrieveFeed(tenantId, symbol, now, feed);
    const site = this.deps.siteUrl.replace(/\/$/, '');
    const publish = (kind: PageRecord['kind'], page: Fetched) =>
      this.deps.producer.send(PAGES_TOPIC, [{ key: symbol, value: this.record(tenantId, symbol, kind, page, null) }]);
    const report: RetrieveReport = { pages: 0, failed: [] };

    const history = await runCrawl({
      crawl: `market-history:${tenantId}:${symbol}:${now.toISOString().slice(0, 10)}`,
      fetcher: this.deps.fetcher,
      log: this.deps.log,
      seeds: [`${site}/history/${encodeURIComponent(symbol)}?page=1`],
      onPage: async (page) => {
        await publish('history', page);
        const next = /<a[^>]*class="next"[^>]*href="([^"]+)"/.exec(page.body.toString('utf8'))?.[1];
        return next ? [new URL(next, page.finalUrl).toString()] : [];
      },
    });
    report.pages += history.fetched;
    report.failed.push(...history.failed);

    const quoteUrl = `${site}/quotes/${encodeURIComponent(symbol)}`;
    try {
      await publish(
        'quote',
        await this.deps.fetcher.fetch(quoteUrl, ['text/html'], `market-quote:${tenantId}:${symbol}:${now.getTime()}`),
      );
      report.pages += 1;
    } catch (error) {
      if (!(error instanceof FetchError)) throw error;
      report.failed.push({ url: quoteUrl, outcome: error.outcome, message: error.message });
    }
    this.deps.logger.info({ tenantId, symbol, pages: report.pages, failed: report.failed.length }, 'retrieved');
    return report;
  }

  /**
   * A feed's response, whatever its content type: a provider answering an HTML page or a note
   * instead of data is stored, and the parser sends it to the DLQ naming what is missing.
   */
  private async retrieveFeed(tenantId: string, symbol: string, now: Date, feed: Feed): Promise<RetrieveReport> {
    const report: RetrieveReport = { pages: 0, failed: [] };
    const site = new URL(this.deps.siteUrl);
    const target = new URL(feed.url);
    // the demo site's host is allowed even when local, being the operator's own: a tenant's feed
    // may use it at the site's own origin only, not reach another port of it (a database's HTTP API)
    if (target.hostname === site.hostname && target.origin !== site.origin) {
      const message = `${feed.url}: ${target.hostname} is allowed only at ${site.origin}`;
      report.failed.push({ url: feed.url, outcome: 'refused', message });
      this.deps.logger.warn({ tenantId, symbol, feed: feed.format, url: feed.url }, 'feed refused');
      return report;
    }
    try {
      const page = await this.deps.fetcher.fetch(feed.url, [''], `market-feed:${tenantId}:${symbol}:${now.getTime()}`);
      await this.deps.producer.send(PAGES_TOPIC, [
        { key: symbol, value: this.record(tenantId, symbol, 'history', page, feed.format) },
      ]);
      report.pages += 1;
    } catch (error) {
      if (!(error instanceof FetchError)) throw error;
      report.failed.push({ url: feed.url, outcome: error.outcome, message: error.message });
    }
    this.deps.logger.info({ tenantId, symbol, feed: feed.format, failed: report.failed.length }, 'retrieved');
    return report;
  }

  private record(
    tenantId: string,
    symbol: string,
    kind: PageRecord['kind'],
    page: Fetched,
    feed: FeedFormat | null,
  ): PageRecord {
    const fetchedAt = Date.now();
    return {
      id: createHash('sha256').update(`${page.finalUrl}\n${fetchedAt}\n${tenantId}`).digest('hex'),
      tenant_id: tenantId,
      event_time: fetchedAt,
      source: 'market-retriever',
      symbol,
      kind,
      url: page.finalUrl,
      status: page.status,
      content_type: page.contentType,
      body_gzip: gzipSync(page.body),
      feed,
    };
  }
}
