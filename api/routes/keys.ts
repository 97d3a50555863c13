/** API keys of the caller's tenant: list, create (the key is shown once), revoke. Admins only. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { createKey, listKeys, revokeKey } from '../auth/accounts.ts';
import { ApiError } from '../errors.ts';
import { bearer, errorResponses, RoleSchema } from '../schemas.ts';
import type { ApiDeps, Guards } from '../deps.ts';

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
  const guard = guards.manage_keys;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/keys',
      tags: ['auth'],
      summary: "The tenant's API keys (never the secrets)",
      security: bearer,
      middleware: guard,
      responses: {
        200: {
          description: 'keys',
          content: { 'application/json': { schema: z.object({ keys: z.array(KeySchema) }) } },
        },
        ...errorResponses(401, 403, 429),
      },
    }),
    async (c) => c.json({ keys: await listKeys(db, c.get('principal').tenantId) }, 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/keys',
      tags: ['auth'],
      summary: 'Create an API key; the response is the only time the key is shown',
      security: bearer,
      middleware: guard,
      request: {
        body: {
          required: true,
          content: {
            'application/json': { schema: z.object({ role: RoleSchema, label: z.string().max(200).optional() }) },
          },
        },
      },
      responses: {
        201: {
          description: 'created',
          content: { 'application/json': { schema: z.object({ id: z.string(), key: z.string() }) } },
        },
        ...errorResponses(400, 401, 403, 429),
      },
    }),
    async (c) => {
      const { role, label } = c.req.valid('json');
      return c.json(await createKey(db, c.get('principal').tenantId, role, label), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/keys/{id}',
      tags: ['auth'],
      summary: 'Revoke an API key of the tenant',
      security: bearer,
      middleware: guard,
      request: { params: z.object({ id: z.string().min(1) }) },
      responses: { 204: { description: 'revoked' }, ...errorResponses(401, 403, 404, 429) },
    }),
    async (c) => {
      if (!(await revokeKey(db, c.get('principal').tenantId, c.req.valid('param').id))) {
        throw new ApiError(404, 'not_found', `no key "${c.req.valid('param').id}" in this tenant`, 'id');
      }
      return c.body(null, 204);
    },
  );
}
