/**
 * The fixture web site the crawlers are tested and demonstrated against (there is no internet
 * here): quote and history pages generated from the real prices of stocks.csv, market-data feeds
 * in Stooq's, Yahoo's and Alpha Vantage's formats from the real bars of sp500-2000.csv (feeds.ts), a robots.txt, and
 * misbehaving endpoints (throttling, flaky 5xx, oversized, mislabelled, redirect loops, slow), and
 * an image search engine (images.ts).
 * It counts concurrent requests per client so tests can check the crawler's politeness, and keeps
 * each request's user agent. Its robots.txt has a group for the user agent `MillraceSlow`: a
 * `Crawl-delay` of SLOW_CRAWL_DELAY_S and /history/ kept out, for tests of both.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveFeeds } from './feeds.ts';
import { serveImageSearch } from './images.ts';
import { loadStocks, type PricePoint } from './stocks.ts';

export const HISTORY_PAGE_SIZE = 24;
export const SLOW_CRAWL_DELAY_S = 2;
const ROBOTS_TXT = [
  'User-agent: *',
  'Disallow: /private/',
  '',
  'User-agent: MillraceSlow',
  `Crawl-delay: ${SLOW_CRAWL_DELAY_S}`,
  'Disallow: /private/',
  'Disallow: /history/',
  '',
].join('\n');

export interface FixtureSite {
  url: string;
  /** Every request served, in arrival order, with its User-Agent header. */
  requests: { path: string; at: number; userAgent: string }[];
  /** The most requests that were in flight at once. */
  maxInFlight(): number;
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

export function quotePage(symbol: string, points: PricePoint[]): string {
  const last = points.at(-1)!;
  return page(
    `${symbol} quote`,
    `<h1 class="symbol">${symbol}</h1><div id="quote"><span class="price" data-field="close">${last.price.toFixed(2)}</span>` +
      `<time class="as-of" datetime="${last.date}">${last.date}</time></div>` +
      `<a class="history" href="/history/${symbol}?page=1">history</a>`,
  );
}

export function historyPage(symbol: string, points: PricePoint[], pageNo: number): string {
  const pages = Math.ceil(points.length / HISTORY_PAGE_SIZE);
  const rows = points
    .slice((pageNo - 1) * HISTORY_PAGE_SIZE, pageNo * HISTORY_PAGE_SIZE)
    .map((p) => `<tr><td class="date">${p.date}</td><td class="close">${p.price.toFixed(2)}</td></tr>`)
    .join('');
  const next = pageNo < pages ? `<a class="next" href="/history/${symbol}?page=${pageNo + 1}">next</a>` : '';
  return page(
    `${symbol} history ${pageNo}/${pages}`,
    `<h1 class="symbol">${symbol}</h1><table id="history"><thead><tr><th>date</th><th>close</th></tr></thead><tbody>${rows}</tbody></table>${next}`,
  );
}

export async function startFixtureSite(port = 0, host = '127.0.0.1'): Promise<FixtureSite> {
  const bySymbol = new Map<string, PricePoint[]>();
  for (const p of loadStocks()) bySymbol.set(p.symbol, [...(bySymbol.get(p.symbol) ?? []), p]);
  const requests: FixtureSite['requests'] = [];
  const attempts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const html = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    const seen = (key: string) => {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      return n;
    };
    if (await serveImageSearch(url, res)) return;
    if (serveFeeds(url, res)) return;
    const [, section, name] = url.pathname.split('/');
    switch (section) {
      case 'robots.txt':
        res.writeHead(200, { 'content-type': 'text/plain' }).end(ROBOTS_TXT);
        return;
      case 'quotes': {
        const points = bySymbol.get(name ?? '');
        html(points ? 200 : 404, points ? quotePage(name!, points) : page('not found', 'no such symbol'));
        return;
      }
      case 'history': {
        const points = bySymbol.get(name ?? '');
        const pageNo = Number(url.searchParams.get('page') ?? '1');
        const valid =
          points && Number.isInteger(pageNo) && pageNo >= 1 && (pageNo - 1) * HISTORY_PAGE_SIZE < points.length;
        html(valid ? 200 : 404, valid ? historyPage(name!, points, pageNo) : page('not found', 'no such page'));
        return;
      }
      case 'private':
        html(200, page('private', 'robots.txt forbids this'));
        return;
      case 'throttled': // 429 with Retry-After on the first attempt
        if (seen(url.pathname) === 1)
          res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' }).end('slow down');
        else html(200, page('ok', 'thanks for waiting'));
        return;
      case 'flaky': {
        const failures = Number(url.searchParams.get('fail') ?? '2');
        if (seen(url.pathname) <= failures) res.writeHead(503, { 'content-type': 'text/plain' }).end('try later');
        else html(200, page('ok', 'up again'));
        return;
      }
      case 'big':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<html><body>${'x'.repeat(5 * 1024 * 1024)}</body></html>`);
        return;
      case 'mislabelled':
        res.writeHead(200, { 'content-type': 'image/png' }).end(page('html', 'says it is a png'));
        return;
      case 'loop':
        res.writeHead(302, { location: url.pathname }).end();
        return;
      case 'slow':
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get('ms') ?? '200')));
        html(200, page('slow', 'eventually'));
        return;
      default:
        html(404, page('not found', 'nothing here'));
    }
  };

  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '/', at: Date.now(), userAgent: req.headers['user-agent'] ?? '' });
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => (inFlight -= 1));
    handle(req, res).catch((error: Error) => res.writeHead(500).end(error.message));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    requests,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
