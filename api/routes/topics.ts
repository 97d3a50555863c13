/** Ingestible topics and producing to them over HTTP. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { ApiError } from '../errors.ts';
import { bearer, errorResponses } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

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
    createRoute({
      method: 'get',
      path: '/v1/topics',
      tags: ['ingestion'],
      summary: 'Topics that accept records over HTTP, with their value schemas',
      security: bearer,
      middleware: guards.read,
      responses: {
        200: {
          description: 'topics',
          content: {
            'application/json': {
              schema: z.object({
                topics: z.array(z.object({ name: z.string(), partitions: z.number().int(), schema: z.unknown() })),
              }),
            },
          },
        },
        ...errorResponses(401, 403, 429),
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
    createRoute({
      method: 'post',
      path: '/v1/topics/{topic}/records',
      tags: ['ingestion'],
      summary:
        "Produce records (a JSON array, Avro-validated). tenant_id is the caller's; each record gets an offset or an error",
      security: bearer,
      middleware: guards.ingest,
      request: {
        params: z.object({ topic: z.string() }),
        body: {
          required: true,
          content: { 'application/json': { schema: z.array(z.unknown()).min(1).max(MAX_RECORDS_PER_REQUEST) } },
        },
      },
      responses: {
        200: {
          description: 'one result per record, in order',
          content: {
            'application/json': {
              schema: z.object({
                accepted: z.number().int(),
                rejected: z.number().int(),
                results: z.array(ResultSchema),
              }),
            },
          },
        },
        ...errorResponses(400, 401, 403, 404, 413, 429),
      },
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
