/** `GET /v1/pipelines`: each role's state, processes, group, lag per partition, rates, dead letters, restarts and last error. Operators only. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { pipelineStatus } from '../../core/pipeline-status.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';

const route = guardedRoutes('operations');

const Partition = z.object({ topic: z.string(), partition: z.number().int() });

const RoleStatusSchema = z
  .object({
    role: z.string(),
    name: z.string(),
    state: z.enum(['running', 'stopped', 'down']).openapi({
      description: 'running: a live process; stopped: the last one stopped cleanly; down: its heartbeat stopped',
    }),
    instances: z.array(
      z.object({
        id: z.string(),
        host: z.string(),
        pid: z.number().int(),
        metrics_url: z.string().nullable(),
        started_at: z.string(),
        heartbeat_at: z.string(),
      }),
    ),
    group: z
      .object({
        id: z.string(),
        state: z.string(),
        members: z.array(
          z.object({ member_id: z.string(), client_id: z.string(), host: z.string(), partitions: z.array(Partition) }),
        ),
      })
      .nullable()
      .openapi({ description: 'null for a role that reads no topic (a source)' }),
    partitions: z.array(Partition.extend({ committed: z.string().nullable(), end: z.string(), lag: z.number().int() })),
    lag: z.number().int(),
    records_in_per_s: z.number(),
    records_out_per_s: z.number(),
    records_in: z.number().int(),
    records_out: z.number().int(),
    dlq_records: z.number().int(),
    restarts: z.number().int(),
    last_error: z.object({ message: z.string(), at: z.string() }).nullable(),
  })
  .openapi('RoleStatus');

export function registerPipelines(
  app: OpenAPIHono<AuthEnv>,
  { db, streams: { kafka } }: Pick<ApiDeps, 'db' | 'streams'>,
  guards: Guards,
): void {
  app.openapi(
    route.get('/v1/pipelines', {
      summary:
        'Every role that ran in the last day: state, processes, consumer group, lag per partition, rates, errors',
      middleware: guards.operate,
      responses: { 200: json(z.object({ roles: z.array(RoleStatusSchema) }), 'the roles') },
    }),
    async (c) => c.json({ roles: await pipelineStatus(db, kafka) }, 200),
  );
}
