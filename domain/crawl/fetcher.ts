/**
 * The one way crawlers fetch (got-scraping): polite and bounded. Per host: at most `concurrency`
 * requests in flight and `ratePerSecond` starts a second, and starts at least robots.txt's
 * `Crawl-delay` apart (capped at `maxCrawlDelayMs`); robots.txt obeyed for the user agent
 * (CRAWL_USER_AGENT by default; fetched once per origin); 429, 5xx, timeouts and network errors retried with capped, jittered back-off
 * (core/backoff; Retry-After honoured); responses capped at `maxBytes`; content types checked; redirects
 * bounded; targets that are not public http(s) URLs refused (target-guard.ts), redirects included.
 * Every attempt is written to the fetch log.
 */
import { gotScraping, type Response } from 'got-scraping';
import PQueue from 'p-queue';
import robotsParserModule from 'robots-parser';
import { backoff, sleep } from '../../core/backoff.ts';
import { loadConfig } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import type { FetchLog, Outcome } from './fetch-log.ts';
import { guardedLookup, refusalOf } from './target-guard.ts';
import { MillraceError } from '../../core/errors.ts';

export interface FetcherOptions {
  /** The crawl id fetches are logged under, unless a fetch names its own. */
  crawl: string;
  log: FetchLog;
  logger: Logger;
  /** Sent on every request, and matched against robots.txt; CRAWL_USER_AGENT by default. */
  userAgent?: string;
  concurrencyPerHost?: number;
  /** 0 turns the rate limit off (benchmarks). */
  ratePerSecondPerHost?: number;
  maxBytes?: number;
  timeoutMs?: number;
  maxRedirects?: number;
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /** The longest robots.txt Crawl-delay honoured (a larger one is cut to it): a site cannot stall a crawl for days. */
  maxCrawlDelayMs?: number;
  /** Hosts fetched although they are loopback, private or link-local; CRAWL_ALLOWED_HOSTS by default. */
  allowedHosts?: readonly string[];
}

export interface Fetched {
  url: string;
  finalUrl: string;
  status: number;
  contentType: string;
  body: Buffer;
  ms: number;
}

/**
 * A fetch that did not give a usable page; `outcome` says why. Here `status` is the status the
 * server answered (0: none), not one of ours: crawlers record it, no API answers with it.
 */
export class FetchError extends MillraceError {
  override name = 'FetchError';
  constructor(
    readonly outcome: Exclude<Outcome, 'ok'>,
    message: string,
    override readonly status = 0,
  ) {
    super(message, { code: 'fetch_failed', details: { outcome } });
  }
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

// robots-parser is CommonJS (`module.exports = fn`); its typings describe an ES default export
const robotsParser = robotsParserModule as unknown as (
  url: string,
  robotsTxt: string,
) => { isAllowed(url: string, ua?: string): boolean | undefined; getCrawlDelay(ua?: string): number | undefined };

/** What an origin's robots.txt says for this user agent (its Crawl-delay goes to `crawlDelayMs`). */
interface RobotsRules {
  allowed(url: string): boolean;
}

export class Fetcher {
  private readonly queues = new Map<string, PQueue>();
  /** When the next request to a host may start: spaces starts evenly, unlike fixed windows. */
  private readonly nextStart = new Map<string, number>();
  private readonly robots = new Map<string, Promise<RobotsRules>>();
  /** robots.txt's Crawl-delay per host, once read. */
  private readonly crawlDelayMs = new Map<string, number>();
  private readonly o: Required<Omit<FetcherOptions, 'crawl' | 'log' | 'logger'>>;

  constructor(private readonly options: FetcherOptions) {
    this.o = {
      userAgent: loadConfig().CRAWL_USER_AGENT,
      concurrencyPerHost: 2,
      ratePerSecondPerHost: 5,
      maxBytes: 2 * 1024 * 1024,
      timeoutMs: 15_000,
      maxRedirects: 5,
      retries: 3,
      backoffMs: 250,
      maxBackoffMs: 10_000,
      maxCrawlDelayMs: 60_000,
      allowedHosts: loadConfig().CRAWL_ALLOWED_HOSTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as Required<Omit<FetcherOptions, 'crawl' | 'log' | 'logger'>>;
  }

  /** Fetches a page whose content type starts with one of `accept`; throws FetchError otherwise. */
  async fetch(url: string, accept: readonly string[] = ['text/html'], crawl = this.options.crawl): Promise<Fetched> {
    // before robots.txt: fetching that is already a request to the target's host
    const refusal = await refusalOf(url, this.o.allowedHosts);
    if (refusal) {
      this.record(crawl, url, url, 0, 0, 0, 1, 'refused');
      throw new FetchError('refused', `${url.slice(0, 200)}: ${refusal}`);
    }
    const robots = await this.robotsFor(new URL(url).origin);
    if (!robots.allowed(url)) {
      this.record(crawl, url, url, 0, 0, 0, 1, 'robots');
      throw new FetchError('robots', `robots.txt disallows ${url}`);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const fetched = await this.queueFor(url).add(() => this.attempt(url, attempt, crawl));
        if (!accept.some((type) => fetched.contentType.startsWith(type))) {
          throw new FetchError(
            'content_type',
            `${url} is ${fetched.contentType || 'untyped'}, expected ${accept.join(' or ')}`,
            fetched.status,
          );
        }
        return fetched;
      } catch (error) {
        const retryable = error instanceof RetryableError;
        if (!retryable || attempt > this.o.retries) {
          if (error instanceof RetryableError) throw error.final;
          throw error;
        }
        const delay =
          error.retryAfterMs !== undefined
            ? Math.min(this.o.maxBackoffMs, error.retryAfterMs)
            : backoff({ attempt, baseMs: this.o.backoffMs, capMs: this.o.maxBackoffMs, jitter: 'equal' });
        this.options.logger.warn({ url, attempt, delayMs: delay, reason: error.final.message }, 'fetch retry');
        await sleep(delay);
      }
    }
  }

  private async attempt(url: string, attempt: number, crawl: string): Promise<Fetched> {
    await this.waitForSlot(new URL(url).host);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let refusedRedirect: string | undefined;
    const request = gotScraping({
      url,
      headers: { 'user-agent': this.o.userAgent },
      throwHttpErrors: false,
      maxRedirects: this.o.maxRedirects,
      timeout: { request: this.o.timeoutMs },
      retry: { limit: 0 }, // retried here, so that every attempt is logged and rate-limited
      responseType: 'buffer',
      dnsLookup: guardedLookup(this.o.allowedHosts),
      hooks: {
        // a public page may redirect to an internal address: every hop is checked like the first
        beforeRedirect: [
          async (next) => {
            const target = String(next.url);
            const refusal = await refusalOf(target, this.o.allowedHosts);
            if (refusal) {
              refusedRedirect = `${url} redirects to ${target}: ${refusal}`;
              throw new Error(refusedRedirect);
            }
          },
        ],
      },
    });
    let tooLarge = false;
    request.on('downloadProgress', ({ transferred, total }: { transferred: number; total?: number }) => {
      if (transferred > this.o.maxBytes || (total ?? 0) > this.o.maxBytes) {
        tooLarge = true;
        request.cancel();
      }
    });
    let response: Response<Buffer>;
    try {
      response = (await request) as Response<Buffer>;
    } catch (error) {
      const name = (error as Error).name;
      const code = (error as { code?: string }).code;
      if (refusedRedirect || code === 'EREFUSEDTARGET' || code === 'ERR_UNSUPPORTED_PROTOCOL') {
        // got checks a redirect's protocol before the beforeRedirect hook runs
        this.record(crawl, url, url, 0, 0, elapsed(), attempt, 'refused');
        throw new FetchError('refused', refusedRedirect ?? `${url}: ${(error as Error).message}`);
      }
      if (tooLarge) {
        this.record(crawl, url, url, 0, this.o.maxBytes, elapsed(), attempt, 'too_large');
        throw new FetchError('too_large', `${url} is larger than ${this.o.maxBytes} bytes`);
      }
      if (name === 'MaxRedirectsError') {
        this.record(crawl, url, url, 0, 0, elapsed(), attempt, 'redirects');
        throw new FetchError('redirects', `${url} redirects more than ${this.o.maxRedirects} times`);
      }
      const outcome = name === 'TimeoutError' ? 'timeout' : 'network';
      this.record(crawl, url, url, 0, 0, elapsed(), attempt, outcome);
      throw new RetryableError(new FetchError(outcome, `${url}: ${(error as Error).message}`));
    }
    const status = response.statusCode;
    const body = response.rawBody ?? Buffer.alloc(0);
    const finalUrl = response.url;
    if (RETRYABLE.has(status)) {
      this.record(crawl, url, finalUrl, status, body.length, elapsed(), attempt, 'http_error');
      const retryAfter = Number(response.headers['retry-after']);
      throw new RetryableError(
        new FetchError('http_error', `${url} answered ${status}`, status),
        Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
      );
    }
    if (status >= 400) {
      this.record(crawl, url, finalUrl, status, body.length, elapsed(), attempt, 'http_error');
      throw new FetchError('http_error', `${url} answered ${status}`, status);
    }
    this.record(crawl, url, finalUrl, status, body.length, elapsed(), attempt, 'ok');
    return { url, finalUrl, status, contentType: String(response.headers['content-type'] ?? ''), body, ms: elapsed() };
  }

  private queueFor(url: string): PQueue {
    const host = new URL(url).host;
    let queue = this.queues.get(host);
    if (!queue) {
      queue = new PQueue({ concurrency: this.o.concurrencyPerHost });
      this.queues.set(host, queue);
    }
    return queue;
  }

  /** Waits for the host's next start: the rate's interval or robots.txt's Crawl-delay, the longer (even with no rate limit). */
  private async waitForSlot(host: string): Promise<void> {
    const interval = Math.max(
      this.o.ratePerSecondPerHost > 0 ? 1000 / this.o.ratePerSecondPerHost : 0,
      this.crawlDelayMs.get(host) ?? 0,
    );
    if (interval <= 0) return;
    const now = Date.now();
    const at = Math.max(now, this.nextStart.get(host) ?? 0);
    this.nextStart.set(host, at + interval);
    if (at > now) await sleep(at - now);
  }

  /** robots.txt of an origin, fetched once: 4xx means no rules, 5xx or no answer means stay out. */
  private robotsFor(origin: string): Promise<RobotsRules> {
    let rules = this.robots.get(origin);
    if (!rules) {
      const robotsUrl = `${origin}/robots.txt`;
      rules = this.queueFor(robotsUrl)
        .add(() => this.attempt(robotsUrl, 1, this.options.crawl))
        .then(
          (fetched) => {
            const parsed = robotsParser(robotsUrl, fetched.body.toString('utf8'));
            const seconds = parsed.getCrawlDelay(this.o.userAgent) ?? 0;
            const delayMs =
              Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, this.o.maxCrawlDelayMs) : 0;
            this.crawlDelayMs.set(new URL(origin).host, delayMs);
            return { allowed: (url: string) => parsed.isAllowed(url, this.o.userAgent) !== false };
          },
          (error: unknown) => {
            const status = error instanceof FetchError ? error.status : (error as RetryableError).final?.status;
            const open = status !== undefined && status >= 400 && status < 500;
            return { allowed: () => open };
          },
        );
      this.robots.set(origin, rules);
    }
    return rules;
  }

  private record(
    crawl: string,
    url: string,
    finalUrl: string,
    status: number,
    bytes: number,
    ms: number,
    attempt: number,
    outcome: Outcome,
  ): void {
    this.options.log.record({
      crawl,
      url,
      final_url: finalUrl,
      status,
      bytes,
      ms,
      attempt,
      outcome,
      fetched_at: new Date(),
    });
  }
}

/** An attempt worth repeating; `final` is what the caller gets when the retries run out. */
class RetryableError extends MillraceError {
  override name = 'RetryableError';
  constructor(
    readonly final: FetchError,
    readonly retryAfterMs?: number,
  ) {
    super(final.message, { code: 'fetch_retryable', retriable: true });
  }
}
