/**
 * The fetch log in ClickHouse: one row per attempt (url, status, bytes, ms, outcome), written in
 * batches. What a crawl has fetched successfully is read back from it, so a restarted crawl skips it.
 */
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';

export type Outcome =
  'ok' | 'http_error' | 'robots' | 'too_large' | 'content_type' | 'redirects' | 'timeout' | 'network' | 'refused';

export interface FetchLogEntry {
  crawl: string;
  url: string;
  final_url: string;
  status: number;
  bytes: number;
  ms: number;
  attempt: number;
  outcome: Outcome;
  fetched_at: Date;
}

export class FetchLog {
  private pending: FetchLogEntry[] = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly flushEvery = 500,
  ) {}

  record(entry: FetchLogEntry): void {
    this.pending.push(entry);
    // a failure here loses this batch of log rows only; an explicit flush() reports failures to its caller
    if (this.pending.length >= this.flushEvery) this.flush().catch(() => undefined);
  }

  /** Writes what is pending; resolves once everything recorded so far is in ClickHouse. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    // after the previous write, whether or not it failed: one failed insert must not fail every later flush
    this.flushing = this.flushing
      .catch(() => undefined)
      .then(async () => {
        if (batch.length === 0) return;
        const values = batch.map((e) => ({ ...e, fetched_at: Math.floor(e.fetched_at.getTime() / 1000) }));
        await this.clickhouse.insert({ table: 'fetch_log', values, format: 'JSONEachRow' });
      });
    return this.flushing;
  }

  /** URLs this crawl has already fetched successfully. */
  async fetched(crawl: string): Promise<Set<string>> {
    await this.flush();
    const result = await this.clickhouse.query({
      query: `SELECT DISTINCT url FROM fetch_log WHERE crawl = ${quoteString(crawl)} AND outcome = 'ok'`,
      format: 'JSONEachRow',
    });
    return new Set((await result.json<{ url: string }>()).map((r) => r.url));
  }
}
