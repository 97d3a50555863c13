/**
 * Dashboard queries: `GET /v1/analytics` lists the views, `GET /v1/analytics/{view}` aggregates
 * one of them for the caller's tenant by whitelisted dimensions, metrics, filters and time buckets.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { MAX_DIMENSIONS, MAX_FILTER_VALUES, normaliseQuery } from '../analytics/query.ts';
import { BUCKETS, bucketsOf, VIEW_NAMES, VIEWS, type ViewSpec } from '../analytics/views.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { guardedRoutes } from '../route-spec.ts';
import { cacheHeaders } from '../query-gate.ts';
import { json } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const route = guardedRoutes('analytics');

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const time = (what: string) =>
  z
    .string()
    .refine(
      (v) => ISO_TIME.test(v) && !Number.isNaN(Date.parse(v)),
      'an ISO date or time with a zone, e.g. 2024-01-01 or 2024-01-01T12:00:00Z',
    )
    .optional()
    .openapi({ description: what });

const ViewCatalogSchema = z
  .object({
    views: z.array(
      z.object({
        name: z.enum(VIEW_NAMES),
        description: z.string(),
        time_column: z.string(),
        buckets: z.array(z.enum(BUCKETS)),
        dimensions: z.array(z.string()),
        metrics: z.array(z.object({ name: z.string(), description: z.string() })),
        default_metrics: z.array(z.string()),
      }),
    ),
  })
  .openapi('AnalyticsViews');

const ResultSchema = z
  .object({
    view: z.enum(VIEW_NAMES),
    bucket: z.enum(BUCKETS).nullable(),
    dimensions: z.array(z.string()),
    metrics: z.array(z.string()),
    rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))).openapi({
      description:
        '`bucket` (ISO start, UTC) when bucketed, then one string per dimension and one number per metric, ordered by bucket and dimensions',
      example: [{ bucket: '2024-01-01T00:00:00Z', category: 'high', statements: 3 }],
    }),
    truncated: z.boolean().openapi({ description: 'more rows than `limit` matched' }),
  })
  .openapi('AnalyticsResult');

const catalog = () => ({
  views: VIEW_NAMES.map((name) => {
    const spec: ViewSpec = VIEWS[name];
    return {
      name,
      description: spec.description,
      time_column: spec.time.column,
      buckets: bucketsOf(spec),
      dimensions: [...spec.dimensions],
      metrics: Object.entries(spec.metrics).map(([metric, m]) => ({ name: metric, description: m.description })),
      default_metrics: [...spec.defaultMetrics],
    };
  }),
});

export function registerAnalytics(
  app: OpenAPIHono<AuthEnv>,
  { analytics }: Pick<ApiDeps, 'analytics'>,
  guards: Guards,
): void {
  app.openapi(
    route.get('/v1/analytics', {
      summary: 'The analytics views with their dimensions, metrics and time buckets',
      middleware: guards.read,
      responses: { 200: json(ViewCatalogSchema, 'the views') },
    }),
    (c) => c.json(catalog(), 200),
  );
  app.openapi(
    route.get('/v1/analytics/{view}', {
      summary:
        "Aggregates of a view for the caller's tenant, by dimensions and an optional time bucket (`x-cache`: `miss` ran the query, `shared` joined an identical one in flight, `hit` came from the short per-tenant cache, `stale` from that cache past its TTL while a refresh runs; `age`: seconds since the cached answer was queried)",
      middleware: guards.analytics,
      request: {
        params: z.object({ view: z.enum(VIEW_NAMES) }),
        query: z.object({
          dimensions: z
            .string()
            .optional()
            .openapi({
              description: `comma-separated dimensions of the view to group by (at most ${MAX_DIMENSIONS})`,
              example: 'category,kind',
            }),
          metrics: z.string().optional().openapi({
            description: "comma-separated metrics of the view (default: the view's default metrics)",
            example: 'statements,mean_probability',
          }),
          bucket: z.enum(BUCKETS).optional().openapi({
            description: 'group by the start of each UTC hour, day, week (Monday) or month of the time column',
          }),
          from: time('inclusive lower bound of the time column'),
          to: time('exclusive upper bound of the time column'),
          filter: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .openapi({
              description: `\`dimension:value\`, repeatable (at most ${MAX_FILTER_VALUES}); values of one dimension are OR'd, dimensions AND'd; values match exactly`,
              example: 'category:high',
            }),
          limit: z.coerce.number().int().min(1).max(10_000).default(1000),
        }),
      },
      responses: { 200: json(ResultSchema, 'the aggregates') },
      errors: [400, 503],
    }),
    async (c) => {
      const { view } = c.req.valid('param');
      const query = normaliseQuery(view, c.req.valid('query'));
      const { rows, truncated, source, ageMs } = await analytics.run(c.get('principal').tenantId, query);
      return c.json(
        { view, bucket: query.bucket ?? null, dimensions: query.dimensions, metrics: query.metrics, rows, truncated },
        200,
        cacheHeaders(source, ageMs),
      );
    },
  );
}
