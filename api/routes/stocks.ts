/**
 * The market watch list of the caller's tenant: which symbols the retriever fetches, how often. The
 * list is read through the query gate (api/query-gate.ts), like every dashboard read.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const route = guardedRoutes('market');

const SymbolSchema = z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, 'an upper-case ticker such as MSFT');
const WatchedSchema = z
  .object({ symbol: z.string(), interval_s: z.number().int(), added_at: z.string() })
  .openapi('WatchedSymbol');

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
      const rows = await queries.postgres<{ symbol: string; interval_s: number; added_at: Date }>(
        tenantId,
        'SELECT symbol, interval_s, added_at FROM market_symbols WHERE tenant_id = $1 ORDER BY symbol',
        [tenantId],
      );
      return c.json({ stocks: rows.map((r) => ({ ...r, added_at: r.added_at.toISOString() })) }, 200);
    },
  );
  app.openapi(
    route.post('/v1/stocks', {
      summary: 'Watch a symbol: the retriever fetches its pages every interval_s seconds (default 3600)',
      middleware: guards.ingest,
      request: {
        body: jsonBody(
          z.object({
            symbol: SymbolSchema,
            interval_s: z.number().int().min(10).max(86_400).default(3600),
          }),
        ),
      },
      responses: { 201: json(WatchedSchema, 'watched') },
      errors: [400, 409],
    }),
    async (c) => {
      const { symbol, interval_s } = c.req.valid('json');
      const { rows } = await db.query<{ added_at: Date }>(
        'INSERT INTO market_symbols (tenant_id, symbol, interval_s) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING added_at',
        [c.get('principal').tenantId, symbol, interval_s],
      );
      if (!rows[0]) throw new ApiError(409, 'conflict', `${symbol} is already on the watch list`, 'symbol');
      return c.json({ symbol, interval_s, added_at: rows[0].added_at.toISOString() }, 201);
    },
  );
}
