import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { runChecks } from '../readiness.ts';
import type { ApiDeps } from '../deps.ts';
import { json } from '../schemas.ts';

const ServiceSchema = z.object({ ok: z.boolean(), error: z.string().optional() });
const ReadySchema = z
  .object({ status: z.enum(['ready', 'not ready']), services: z.record(z.string(), ServiceSchema) })
  .openapi('Readiness');

export function registerHealth(app: OpenAPIHono, { checks }: Pick<ApiDeps, 'checks'>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['health'],
      summary: 'The process is up',
      responses: { 200: json(z.object({ status: z.literal('ok') }), 'up') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['health'],
      summary: 'Kafka, the schema registry, ClickHouse and Postgres each answer',
      responses: {
        200: json(ReadySchema, 'every service answers'),
        503: json(ReadySchema, 'some service does not answer; each is reported'),
      },
    }),
    async (c) => {
      const services = await runChecks(checks);
      const ready = Object.values(services).every((s) => s.ok);
      return ready
        ? c.json({ status: 'ready' as const, services }, 200)
        : c.json({ status: 'not ready' as const, services }, 503);
    },
  );
}
