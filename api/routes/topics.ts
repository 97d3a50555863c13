/** Ingestible topics and producing to them over HTTP. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const route = guardedRoutes('ingestion');

export const MAX_RECORDS_PER_REQUEST = 10_000;

const ResultSchema = z
  .union([
    z.object({ index: z.number().int(), id: z.string(), partition: z.number().int(), offset: z.string() }),
    z.object({
      index: z.number().int(),
      error: z.literal('invalid_record'),
      message: z.string(),
      field: z.string(),
      expected: z.string().optional(),
    }),
  ])
  .openapi('RecordResult');

export function registerTopics(
  app: OpenAPIHono<AuthEnv>,
  { topics, ingestor }: Pick<ApiDeps, 'topics' | 'ingestor'>,
  guards: Guards,
): void {
  const ingestible = topics.filter((t) => t.ingestible);
  app.openapi(
    route.get('/v1/topics', {
      summary: 'Topics that accept records over HTTP, with their value schemas',
      middleware: guards.read,
      responses: {
        200: json(
          z.object({
            topics: z.array(z.object({ name: z.string(), partitions: z.number().int(), schema: z.unknown() })),
          }),
          'topics',
        ),
      },
    }),
    (c) =>
      c.json(
        {
          topics: ingestible.map((t) => ({
            name: t.name,
            partitions: t.partitions,
            schema: JSON.parse(t.schemaText) as unknown,
          })),
        },
        200,
      ),
  );
  app.openapi(
    route.post('/v1/topics/{topic}/records', {
      summary:
        "Produce records (a JSON array, Avro-validated). tenant_id is the caller's; each record gets an offset or an error",
      middleware: guards.ingest,
      request: {
        params: z.object({ topic: z.string() }),
        body: jsonBody(z.array(z.unknown()).min(1).max(MAX_RECORDS_PER_REQUEST)),
      },
      responses: {
        200: json(
          z.object({
            accepted: z.number().int(),
            rejected: z.number().int(),
            results: z.array(ResultSchema),
          }),
          'one result per record, in order',
        ),
      },
      errors: [400, 404, 413],
    }),
    async (c) => {
      const name = c.req.valid('param').topic;
      const topic = ingestible.find((t) => t.name === name);
      if (!topic) throw new ApiError(404, 'not_found', `topic "${name}" does not accept records over HTTP`, 'topic');
      const results = await ingestor.ingest(topic, c.get('principal').tenantId, c.req.valid('json'));
      const accepted = results.filter((r) => 'offset' in r).length;
      return c.json({ accepted, rejected: results.length - accepted, results }, 200);
    },
  );
}
