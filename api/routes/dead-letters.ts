/**
 * Dead letters: list a topic's DLQ records (headers, error, origin, payload decoded or hex) and
 * redrive them to the topic they came from, each at most once (core/dlq-redrive.ts). A tenant sees
 * and redrives only the dead letters whose payload names it; an operator, every one.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { listDeadLetters, type DeadLetterFilter } from '../../core/dlq-browse.ts';
import { readRedrives, redriveDeadLetters, REDRIVE_CAP } from '../../core/dlq-redrive.ts';
import { wholeTopic } from '../../core/topic-range.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { can } from '../auth/roles.ts';
import { viewerOf } from '../auth/viewer.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';

const route = guardedRoutes('operations');

const Time = z
  .string()
  .refine((t) => !Number.isNaN(/^\d+$/.test(t) ? Number(t) : Date.parse(t)), 'must be an ISO 8601 time or epoch ms')
  .transform((t) => (/^\d+$/.test(t) ? Number(t) : Date.parse(t)));

const FilterQuery = z.object({
  since: Time.optional().openapi({ description: 'dead letters written at or after (ISO 8601 or epoch ms)' }),
  until: Time.optional().openapi({ description: 'dead letters written before' }),
  error_class: z.string().min(1).max(200).optional().openapi({ description: 'e.g. RecordInvalidError' }),
  source_partition: z.coerce.number().int().min(0).optional(),
});

const RedriveSchema = z
  .object({
    by: z.string(),
    at: z.string(),
    target: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
  })
  .openapi('Redrive');

const DeadLetterSchema = z
  .object({
    id: z.string().openapi({ description: '<partition>:<offset> in <topic>.dlq' }),
    partition: z.number().int(),
    offset: z.string(),
    timestamp: z.string(),
    key: z.string().nullable(),
    headers: z.record(z.string(), z.string()).openapi({ description: 'every header: millrace.* and the record’s own' }),
    error: z.object({ class: z.string(), message: z.string(), stage: z.string() }),
    source: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
    tenant_id: z.string().nullable(),
    payload: z.union([
      z.object({ encoding: z.literal('avro'), schema_id: z.number().int(), value: z.unknown() }),
      z.object({ encoding: z.literal('hex'), bytes: z.number().int(), hex: z.string(), truncated: z.boolean() }),
    ]),
    redrive: RedriveSchema.nullable(),
  })
  .openapi('DeadLetter');

const TopicParams = z.object({ topic: z.string().min(1).max(249) });

const filterOf = (q: z.output<typeof FilterQuery>): DeadLetterFilter => ({
  since: q.since,
  until: q.until,
  errorClass: q.error_class,
  sourcePartition: q.source_partition,
});

export function registerDeadLetters(
  app: OpenAPIHono<AuthEnv>,
  { topics, streams: { kafka, registry } }: Pick<ApiDeps, 'topics' | 'streams'>,
  guards: Guards,
): void {
  const known = (name: string) => {
    if (!topics.some((t) => t.name === name))
      throw new ApiError(404, 'not_found', `no topic "${name}" (GET /v1/dead-letters lists them)`, 'topic');
    return name;
  };

  app.openapi(
    route.get('/v1/dead-letters', {
      summary: 'The topics with a DLQ; for operators, how many records each DLQ holds',
      middleware: guards.read,
      responses: {
        200: json(
          z.object({
            topics: z.array(z.object({ topic: z.string(), dlq: z.string(), records: z.number().int().optional() })),
          }),
          'topics',
        ),
      },
    }),
    async (c) => {
      const operator = can(c.get('principal').role, 'operate');
      const list = await Promise.all(
        topics.map(async (t) => {
          const dlq = dlqTopicOf(t.name);
          if (!operator) return { topic: t.name, dlq };
          const whole = await wholeTopic(kafka, dlq);
          // offsets, not records: transaction markers take offsets too, so this is an upper bound
          const records = [...whole.values()].reduce((sum, b) => sum + Number(b.until - b.from), 0);
          return { topic: t.name, dlq, records };
        }),
      );
      return c.json({ topics: list }, 200);
    },
  );

  app.openapi(
    route.get('/v1/dead-letters/{topic}', {
      summary: "A page of the topic's dead letters, oldest first per partition; next_cursor goes on",
      middleware: guards.read,
      request: {
        params: TopicParams,
        query: FilterQuery.extend({
          cursor: z.string().max(10_000).optional().openapi({ description: 'next_cursor of the page before' }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: {
        200: json(
          z.object({
            dead_letters: z.array(DeadLetterSchema),
            next_cursor: z.string().nullable(),
            scanned: z.number().int(),
          }),
          'a page',
        ),
      },
      errors: [400, 404],
    }),
    async (c) => {
      const topic = known(c.req.valid('param').topic);
      const q = c.req.valid('query');
      const page = await listDeadLetters({
        kafka,
        registry,
        topic,
        viewer: viewerOf(c.get('principal')),
        filter: filterOf(q),
        cursor: q.cursor,
        limit: q.limit,
        redrives: await readRedrives(kafka, registry),
      });
      return c.json(page, 200);
    },
  );

  app.openapi(
    route.post('/v1/dead-letters/{topic}/redrive', {
      summary:
        'Send dead letters back to the partition they came from: the ids named, or every one the filter matches. Each is sent at most once',
      middleware: guards.read,
      request: {
        params: TopicParams,
        body: jsonBody(
          z.union([
            z.object({ ids: z.array(z.string().max(40)).min(1).max(REDRIVE_CAP) }).strict(),
            z.object({ filter: FilterQuery.partial() }).strict(),
          ]),
        ),
      },
      responses: {
        200: json(
          z.object({
            redriven: z.array(
              z.object({
                id: z.string(),
                target: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
              }),
            ),
            skipped: z.array(
              z.object({
                id: z.string(),
                reason: z.enum(['already_redriven', 'not_found']),
                redrive: RedriveSchema.optional(),
              }),
            ),
            more: z.boolean().openapi({ description: `the filter matched more than ${REDRIVE_CAP}: call again` }),
          }),
          'what was sent and what was not',
        ),
      },
      errors: [400, 403, 404, 409],
    }),
    async (c) => {
      const principal = c.get('principal');
      // a tenant redrives by producing its own records again; an operator, anyone's
      if (!can(principal.role, 'operate') && !can(principal.role, 'ingest'))
        throw new ApiError(403, 'forbidden', `role ${principal.role} may not redrive dead letters`);
      const topic = known(c.req.valid('param').topic);
      const body = c.req.valid('json');
      const result = await redriveDeadLetters({
        kafka,
        registry,
        topic,
        viewer: viewerOf(principal),
        actor: { subject: principal.subject, tenantId: principal.tenantId },
        selection: 'ids' in body ? { ids: body.ids } : { filter: filterOf(body.filter) },
      });
      return c.json(result, 200);
    },
  );
}
