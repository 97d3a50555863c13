/** API keys of the caller's tenant: list, create (the key is shown once), revoke. Admins only. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { createKey, listKeys, revokeKey } from '../auth/accounts.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody, RoleSchema, TenantRoleSchema } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

const route = guardedRoutes('auth');

const KeySchema = z
  .object({
    id: z.string(),
    role: RoleSchema,
    label: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('ApiKey');

export function registerKeys(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi(
    route.get('/v1/keys', {
      summary: "The tenant's API keys (never the secrets)",
      middleware: guards.manage_keys,
      responses: { 200: json(z.object({ keys: z.array(KeySchema) }), 'keys') },
    }),
    async (c) => c.json({ keys: await listKeys(db, c.get('principal').tenantId) }, 200),
  );
  app.openapi(
    route.post('/v1/keys', {
      summary: 'Create an API key; the response is the only time the key is shown',
      idempotent: false, // the answer is a secret: never kept for a replay
      middleware: guards.manage_keys,
      request: { body: jsonBody(z.object({ role: TenantRoleSchema, label: z.string().max(200).optional() })) },
      responses: { 201: json(z.object({ id: z.string(), key: z.string() }), 'created') },
      errors: [400],
    }),
    async (c) => {
      const { role, label } = c.req.valid('json');
      return c.json(await createKey(db, c.get('principal').tenantId, role, label), 201);
    },
  );
  app.openapi(
    route.delete('/v1/keys/{id}', {
      summary: 'Revoke an API key of the tenant',
      middleware: guards.manage_keys,
      request: { params: z.object({ id: z.string().min(1) }) },
      responses: { 204: { description: 'revoked' } },
      errors: [404],
    }),
    async (c) => {
      if (!(await revokeKey(db, c.get('principal').tenantId, c.req.valid('param').id))) {
        throw new ApiError(404, 'not_found', `no key "${c.req.valid('param').id}" in this tenant`, 'id');
      }
      return c.body(null, 204);
    },
  );
}
