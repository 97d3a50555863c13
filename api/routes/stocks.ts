/**
 * The market watch list of the caller's tenant: which symbols the retriever fetches, how often, and
 * from where (the demo site, or a real market-data feed: Stooq or Yahoo CSV, Alpha Vantage JSON, at
 * the symbol's URL). The list is read through the query gate (api/query-gate.ts), like every
 * dashboard read.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody, ListPageQuery } from '../schemas.ts';
import { cursorTime, keysetPage, pageOf } from '../../core/keyset-pages.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { FEED_FORMATS } from '../../domain/market/feeds.ts';

const route = guardedRoutes('market');

const SymbolSchema = z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, 'an upper-case ticker such as MSFT');
const FeedSchema = z
  .object({
    format: z.enum(['demo', ...FEED_FORMATS]).openapi({
      description:
        "demo: the demo site's quote and history pages (MARKET_SITE_URL); stooq_csv: Stooq's CSV download (Date,Open,High,Low,Close[,Volume]); " +
        "yahoo_csv: Yahoo Finance's CSV download (Date,Open,High,Low,Close,Adj Close,Volume); alpha_vantage_json: Alpha Vantage's TIME_SERIES_DAILY",
    }),
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional()
      .openapi({
        description: 'the feed URL, fetched as it is every interval (required but for demo, which has none)',
        example: 'https://stooq.com/q/d/l/?s=msft.us&i=d',
      }),
  })
  .superRefine((feed, ctx) => {
    if (feed.format === 'demo' && feed.url !== undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'the demo feed has no url: it is MARKET_SITE_URL' });
    if (feed.format !== 'demo' && feed.url === undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${feed.format} feed needs its url` });
  })
  .openapi('MarketFeed');
const WatchedSchema = z
  .object({
    symbol: z.string(),
    interval_s: z.number().int(),
    feed: z.object({ format: z.string(), url: z.string().nullable() }).openapi({
      description: "where the bars come from; an apikey in the url is shown as '***'",
    }),
    added_at: z.string(),
  })
  .openapi('WatchedSymbol');

/** A feed URL as answered: an API key in it (Alpha Vantage's apikey) is not shown back. */
function shown(url: string | null): string | null {
  if (url === null) return null;
  const parsed = new URL(url);
  for (const name of [...parsed.searchParams.keys()])
    if (/^(api_?key|token|key)$/i.test(name)) parsed.searchParams.set(name, '***');
  return parsed.toString();
}

export function registerStocks(
  app: OpenAPIHono<AuthEnv>,
  { db, queries }: Pick<ApiDeps, 'db' | 'queries'>,
  guards: Guards,
): void {
  app.openapi(
    route.get('/v1/stocks', {
      summary: 'The watch list, the symbols added last first; next_cursor goes on',
      middleware: guards.read,
      request: { query: ListPageQuery },
      responses: {
        200: json(z.object({ stocks: z.array(WatchedSchema), next_cursor: z.string().nullable() }), 'watched symbols'),
      },
      errors: [400],
    }),
    async (c) => {
      const tenantId = c.get('principal').tenantId;
      const query = c.req.valid('query');
      const page = keysetPage('added_at', 'symbol', query, 2);
      const rows = await queries.postgres<{
        symbol: string;
        interval_s: number;
        feed_format: string;
        feed_url: string | null;
        added_at: Date;
        page_at: string;
        page_key: string;
      }>(
        tenantId,
        `SELECT symbol, interval_s, feed_format, feed_url, added_at, ${cursorTime('added_at')} AS page_at, symbol AS page_key
           FROM market_symbols WHERE tenant_id = $1 AND ${page.where} ${page.orderAndLimit}`,
        [tenantId, ...page.params],
      );
      const { items, next_cursor } = pageOf(rows, query.limit);
      return c.json(
        {
          stocks: items.map((r) => ({
            symbol: r.symbol,
            interval_s: r.interval_s,
            feed: { format: r.feed_format, url: shown(r.feed_url) },
            added_at: r.added_at.toISOString(),
          })),
          next_cursor,
        },
        200,
      );
    },
  );
  app.openapi(
    route.delete('/v1/stocks/{symbol}', {
      summary:
        "Stop watching a symbol: it leaves the watch list and the retriever's schedule drops it at its next refresh of the list, fetching it no more; its quotes stay",
      middleware: guards.ingest,
      request: { params: z.object({ symbol: SymbolSchema }) },
      responses: { 204: { description: 'no longer watched' } },
      errors: [400, 404],
    }),
    async (c) => {
      const { symbol } = c.req.valid('param');
      const { rowCount } = await db.query('DELETE FROM market_symbols WHERE tenant_id = $1 AND symbol = $2', [
        c.get('principal').tenantId,
        symbol,
      ]);
      if (!rowCount) throw new ApiError(404, 'not_found', `${symbol} is not on the watch list`, 'symbol');
      return c.body(null, 204);
    },
  );
  app.openapi(
    route.post('/v1/stocks', {
      summary:
        'Watch a symbol: the retriever fetches its pages (the demo site) or its feed (Stooq or Yahoo CSV, Alpha Vantage JSON, at its url) every interval_s seconds (default 3600)',
      middleware: guards.ingest,
      request: {
        body: jsonBody(
          z.object({
            symbol: SymbolSchema,
            interval_s: z.number().int().min(10).max(86_400).default(3600),
            feed: FeedSchema.default({ format: 'demo' }),
          }),
        ),
      },
      responses: { 201: json(WatchedSchema, 'watched') },
      errors: [400, 409],
    }),
    async (c) => {
      const { symbol, interval_s, feed } = c.req.valid('json');
      const url = feed.url ?? null;
      const { rows } = await db.query<{ added_at: Date }>(
        'INSERT INTO market_symbols (tenant_id, symbol, interval_s, feed_format, feed_url) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING added_at',
        [c.get('principal').tenantId, symbol, interval_s, feed.format, url],
      );
      if (!rows[0]) throw new ApiError(409, 'conflict', `${symbol} is already on the watch list`, 'symbol');
      return c.json(
        {
          symbol,
          interval_s,
          feed: { format: feed.format, url: shown(url) },
          added_at: rows[0].added_at.toISOString(),
        },
        201,
      );
    },
  );
}
