/**
 * A watched symbol's bars and indicators for the caller's tenant: OHLCV as ClickHouse's daily
 * rollup view market_quotes_daily computes it (re-bucketed by week on request), indicators from market_indicators,
 * and the latest enriched quote from Postgres (market_latest). Every query goes through the query
 * gate (api/query-gate.ts): shared, ClickHouse answers cached briefly, a fair share per tenant.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { sqlValue } from '../../core/clickhouse-sql.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { cacheHeaders } from '../query-gate.ts';
import { json } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const route = guardedRoutes('market');

const DAY_MS = 86_400_000;
const Ticker = z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, 'an upper-case ticker such as MSFT');
const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(d)), 'a real calendar date');
const Range = z.object({
  from: IsoDate.optional().openapi({ description: 'first day, inclusive (default: ten years before `to`)' }),
  to: IsoDate.optional().openapi({ description: 'last day, inclusive (default: today)' }),
});
const num = z.number().nullable();
const BarSchema = z
  .object({
    date: z.string(),
    open: z.number(),
    high: z.number(),
    low: z.number(),
    close: z.number(),
    volume: z.number(),
    bars: z.number(),
  })
  .openapi('Bar');
const IndicatorsSchema = z
  .object({
    date: z.string(),
    close: z.number(),
    return_1: num,
    sma20: num,
    sma50: num,
    ema20: num,
    ema50: num,
    volatility20: num,
    rsi14: num,
  })
  .openapi('IndicatorPoint');

/**
 * The daily bars of market_quotes_daily (sql/clickhouse/0006_market.sql) with `where` applied to
 * market_quotes itself: 18.16 does not push a filter on the view into its FINAL subquery, so going
 * through the view would merge every tenant's quotes before picking one symbol's.
 */
const dailyBars = (where: string) =>
  `SELECT toDate(ts) AS day, argMin(ifNull(o, c), ts) AS open, max(ifNull(h, c)) AS high, min(ifNull(l, c)) AS low,
          argMax(c, ts) AS close, sum(ifNull(v, 0)) AS volume, count() AS bars
     FROM (SELECT ts, open AS o, high AS h, low AS l, close AS c, volume AS v FROM market_quotes FINAL WHERE ${where})
    GROUP BY day`;

/** The day range as SQL literals; refuses an inverted range. */
function dayRange(query: { from?: string; to?: string }): { from: string; to: string } {
  const to = query.to ?? new Date().toISOString().slice(0, 10);
  const from = query.from ?? new Date(Date.parse(to) - 3653 * DAY_MS).toISOString().slice(0, 10);
  if (from > to) throw new ApiError(400, 'invalid_request', `from (${from}) is after to (${to})`, 'from');
  return { from: sqlValue(from), to: sqlValue(to) };
}

const barsRoute = route.get('/v1/stocks/{symbol}/quotes', {
  summary:
    "A watched symbol's OHLCV bars by day or week (bars scraped with a close only use it for open, high and low)",
  request: {
    params: z.object({ symbol: Ticker }),
    query: Range.extend({ interval: z.enum(['day', 'week']).default('day') }),
  },
  responses: {
    200: json(z.object({ symbol: z.string(), interval: z.string(), bars: z.array(BarSchema) }), 'bars, oldest first'),
  },
  errors: [400, 404, 503],
});

const indicatorsRoute = route.get('/v1/stocks/{symbol}/indicators', {
  summary: 'Returns, SMA/EMA 20 and 50, 20-bar volatility and RSI 14 per bar, and the latest enriched quote',
  request: { params: z.object({ symbol: Ticker }), query: Range },
  responses: {
    200: json(
      z.object({
        symbol: z.string(),
        latest: IndicatorsSchema.nullable(),
        points: z.array(IndicatorsSchema),
      }),
      'indicators, oldest first; null where the history is too short',
    ),
  },
  errors: [400, 404, 503],
});

export function registerMarketQueries(
  app: OpenAPIHono<AuthEnv>,
  { queries }: Pick<ApiDeps, 'queries'>,
  guards: Guards,
): void {
  /** 404 unless the tenant watches the symbol: an empty series and an unknown symbol look different. */
  const watched = async (tenantId: string, symbol: string) => {
    const rows = await queries.postgres(tenantId, 'SELECT 1 FROM market_symbols WHERE tenant_id = $1 AND symbol = $2', [
      tenantId,
      symbol,
    ]);
    if (rows.length === 0)
      throw new ApiError(404, 'not_found', `${symbol} is not on your watch list (POST /v1/stocks)`, 'symbol');
  };

  app.openapi({ ...barsRoute, middleware: guards.read }, async (c) => {
    const { symbol } = c.req.valid('param');
    const query = c.req.valid('query');
    const tenantId = c.get('principal').tenantId;
    await watched(tenantId, symbol);
    const { from, to } = dayRange(query);
    const where = `tenant_id = ${sqlValue(tenantId)} AND symbol = ${sqlValue(symbol)} AND toDate(ts) BETWEEN toDate(${from}) AND toDate(${to})`;
    const sql =
      query.interval === 'day'
        ? `SELECT toString(day) AS date, open, high, low, close, volume, bars FROM (${dailyBars(where)}) ORDER BY day`
        : `SELECT toString(toMonday(day)) AS date, argMin(open, day) AS open, max(high) AS high, min(low) AS low, argMax(close, day) AS close,
               sum(volume) AS volume, sum(bars) AS bars FROM (${dailyBars(where)}) GROUP BY toMonday(day) ORDER BY toMonday(day)`;
    // ClickHouse's JSON quotes 64-bit integers
    const {
      answer: bars,
      source,
      ageMs,
    } = await queries.clickhouse(tenantId, 'market_quotes', sql, (rows) =>
      rows.map((b) => ({ ...b, volume: Number(b.volume), bars: Number(b.bars) }) as z.infer<typeof BarSchema>),
    );
    return c.json({ symbol, interval: query.interval, bars }, 200, cacheHeaders(source, ageMs));
  });

  app.openapi({ ...indicatorsRoute, middleware: guards.read }, async (c) => {
    const { symbol } = c.req.valid('param');
    const tenantId = c.get('principal').tenantId;
    await watched(tenantId, symbol);
    const { from, to } = dayRange(c.req.valid('query'));
    const {
      answer: points,
      source,
      ageMs,
    } = await queries.clickhouse(
      tenantId,
      'market_indicators',
      `SELECT toString(toDate(ts)) AS date, close, return_1, sma20, sma50, ema20, ema50, volatility20, rsi14
         FROM market_indicators FINAL
         WHERE tenant_id = ${sqlValue(tenantId)} AND symbol = ${sqlValue(symbol)} AND toDate(ts) BETWEEN toDate(${from}) AND toDate(${to})
         ORDER BY ts`,
      (rows) => rows as z.infer<typeof IndicatorsSchema>[],
    );
    const latest = await queries.postgres<z.infer<typeof IndicatorsSchema>>(
      tenantId,
      `SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS date, close, return_1, sma20, sma50, ema20, ema50, volatility20, rsi14
         FROM market_latest WHERE tenant_id = $1 AND symbol = $2`,
      [tenantId, symbol],
    );
    return c.json({ symbol, latest: latest[0] ?? null, points }, 200, cacheHeaders(source, ageMs));
  });
}
