/**
 * Browsing: `GET /v1/topics/{topic}/browse` pages through a topic's records (newest, oldest, from a
 * time, or a partition's offset; one key), decoded; `GET /v1/schemas` lists each topic's value
 * schema versions and compatibility. A tenant sees its own records; an operator, every one.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { browseTopic, type Position } from '../../core/topic-browse.ts';
import { valueSubjectOf } from '../../schemas/topic-spec.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { viewerOf } from '../auth/viewer.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';

const route = guardedRoutes('operations');

const PayloadSchema = z.union([
  z.object({ encoding: z.literal('avro'), schema_id: z.number().int(), value: z.unknown() }),
  z.object({ encoding: z.literal('hex'), bytes: z.number().int(), hex: z.string(), truncated: z.boolean() }),
]);

const RecordSchema = z
  .object({
    partition: z.number().int(),
    offset: z.string(),
    timestamp: z.string(),
    key: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    payload: PayloadSchema,
  })
  .openapi('TopicRecord');

const BrowseQuery = z.object({
  from: z.string().max(40).default('newest').openapi({
    description:
      'newest (default: the last `limit` of each partition), oldest, an ISO time or epoch ms, or an offset (with partition)',
  }),
  partition: z.coerce.number().int().min(0).optional(),
  key: z.string().max(500).optional(),
  cursor: z.string().max(10_000).optional().openapi({ description: 'next_cursor of the page before' }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** The start a `from` names, or why it names none. */
function positionOf(from: string, partition: number | undefined): Position | string {
  if (from === 'newest') return { kind: 'newest' };
  if (from === 'oldest') return { kind: 'oldest' };
  if (/^\d+$/.test(from)) {
    if (partition !== undefined) return { kind: 'offset', offset: BigInt(from) };
    if (from.length >= 10) return { kind: 'time', ms: Number(from) };
    return `from=${from} is an offset: give its partition too`;
  }
  const ms = Date.parse(from);
  return Number.isNaN(ms) ? 'from must be newest, oldest, a time, or an offset with a partition' : { kind: 'time', ms };
}

export function registerTopicRecords(
  app: OpenAPIHono<AuthEnv>,
  { topics, streams: { kafka, registry } }: Pick<ApiDeps, 'topics' | 'streams'>,
  guards: Guards,
): void {
  app.openapi(
    route.get('/v1/topics/{topic}/browse', {
      summary: "A page of a topic's records, decoded: the caller's tenant's, or every one for operators",
      middleware: guards.read,
      request: { params: z.object({ topic: z.string().min(1).max(249) }), query: BrowseQuery },
      responses: {
        200: json(
          z.object({ records: z.array(RecordSchema), next_cursor: z.string().nullable(), scanned: z.number().int() }),
          'a page',
        ),
      },
      errors: [400, 404],
    }),
    async (c) => {
      const name = c.req.valid('param').topic;
      if (!topics.some((t) => t.name === name))
        throw new ApiError(404, 'not_found', `no topic "${name}" (GET /v1/schemas lists them)`, 'topic');
      const q = c.req.valid('query');
      const position = positionOf(q.from, q.partition);
      if (typeof position === 'string') throw new ApiError(400, 'invalid_request', position, 'from');
      const page = await browseTopic(kafka, registry, name, viewerOf(c.get('principal')), { ...q, position });
      return c.json({ records: page.items, next_cursor: page.next_cursor, scanned: page.scanned }, 200);
    },
  );

  app.openapi(
    route.get('/v1/schemas', {
      summary: "Each topic's value schema: its subject, compatibility level and every version",
      middleware: guards.read,
      responses: {
        200: json(
          z.object({
            subjects: z.array(
              z.object({
                topic: z.string(),
                subject: z.string(),
                compatibility: z.string().nullable(),
                versions: z.array(z.object({ version: z.number().int(), id: z.number().int(), schema: z.unknown() })),
              }),
            ),
          }),
          'subjects',
        ),
      },
    }),
    async (c) => {
      const subjects = await Promise.all(
        topics.map(async (t) => {
          const subject = valueSubjectOf(t.name);
          const [compatibility, versions] = await Promise.all([
            registry.compatibility(subject),
            registry.versions(subject),
          ]);
          return {
            topic: t.name,
            subject,
            compatibility: compatibility ?? null,
            versions: versions.map((v) => ({ ...v, schema: JSON.parse(v.schema) as unknown })),
          };
        }),
      );
      return c.json({ subjects }, 200);
    },
  );
}
