/**
 * Erasing a tenant (domain/tenants/erasure.ts): a tenant's admin erases its own tenant, an operator
 * any tenant; either confirms by repeating the tenant's id in the body. The answer is the report:
 * what went from where, and what stays in the log until retention removes it.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { eraseTenant } from '../../domain/tenants/erasure.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody } from '../schemas.ts';

const route = guardedRoutes('tenants');

const Counts = z.record(z.string(), z.number().int()).openapi({ description: 'rows deleted, per table that had any' });

const ErasureReportSchema = z
  .object({
    tenant: z.string(),
    erased_at: z.string(),
    name_free_at: z
      .string()
      .openapi({ description: 'when the name may be taken again: the log no longer holds its records' }),
    keys_revoked: z.number().int(),
    postgres: Counts,
    clickhouse: Counts,
    sql_user_dropped: z
      .boolean()
      .nullable()
      .openapi({ description: 'null: this process does not manage SQL users (`millrace tenants erase` drops them)' }),
    files_removed: z.number().int(),
    tombstones: z.array(z.object({ topic: z.string(), written: z.number().int() })),
    remains_in_log: z.array(
      z.object({
        topic: z.string(),
        records: z.number().int(),
        unattributed: z.number().int().openapi({ description: 'records that do not decode, so may be anyone’s' }),
        retention_ms: z.number().int().nullable(),
        gone_after: z.string().nullable().openapi({ description: 'retention has removed them after this time' }),
        complete: z
          .boolean()
          .openapi({ description: 'false: the topic was read only in part, `records` is a lower bound' }),
      }),
    ),
  })
  .openapi('ErasureReport');

const Confirm = jsonBody(
  z.object({ confirm: z.string().min(1).openapi({ description: "the tenant's id again, to confirm" }) }),
);

const confirmed = (confirm: string, tenant: string) => {
  if (confirm !== tenant)
    throw new ApiError(400, 'invalid_request', `confirm must be the id of the tenant to erase, "${tenant}"`, 'confirm');
};

export function registerTenantErasure(
  app: OpenAPIHono<AuthEnv>,
  { erasure }: Pick<ApiDeps, 'erasure'>,
  guards: Guards,
): void {
  app.openapi(
    route.delete('/v1/tenant', {
      summary:
        "Erase the caller's tenant: its keys, rows, files and compacted-topic keys; the report says what stays in the log until retention",
      middleware: guards.manage_keys,
      request: { body: Confirm },
      responses: { 200: json(ErasureReportSchema, 'erased') },
      errors: [400],
    }),
    async (c) => {
      const tenant = c.get('principal').tenantId;
      confirmed(c.req.valid('json').confirm, tenant);
      return c.json(await eraseTenant(erasure, tenant), 200);
    },
  );
  app.openapi(
    route.delete('/v1/tenants/{tenant}', {
      summary: 'Erase any tenant (operators)',
      middleware: guards.operate,
      request: { params: z.object({ tenant: z.string().min(1).max(63) }), body: Confirm },
      responses: { 200: json(ErasureReportSchema, 'erased') },
      errors: [400, 404],
    }),
    async (c) => {
      const { tenant } = c.req.valid('param');
      confirmed(c.req.valid('json').confirm, tenant);
      return c.json(await eraseTenant(erasure, tenant), 200);
    },
  );
}
