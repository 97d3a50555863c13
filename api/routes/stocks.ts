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
import { json, jsonBody } from '../schemas.ts';
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
      summary: 'The watch list',
      middleware: guards.read,
      responses: { 200: json(z.object({ stocks: z.array(WatchedSchema) }), 'watched symbols') },
    }),
    async (c) => {
      const tenantId = c.get('principal').tenantId;
      const rows = await queries.postgres<{
        symbol: string;
        interval_s: number;
        feed_format: string;
        feed_url: string | null;
        added_at: Date;
      }>(
        tenantId,
        'SELECT symbol, interval_s, feed_format, feed_url, added_at FROM market_symbols WHERE tenant_id = $1 ORDER BY symbol',
        [tenantId],
      );
      return c.json(
        {
          stocks: rows.map((r) => ({
            symbol: r.symbol,
            interval_s: r.interval_s,
            feed: { format: r.feed_format, url: shown(r.feed_url) },
            added_at: r.added_at.toISOString(),
          })),
        },
        200,
      );
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
