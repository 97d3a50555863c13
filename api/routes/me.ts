/** `GET /v1/me`: who the caller is: tenant, role and what the role may do (the console shows pages by it). */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import { permissionsOf } from '../auth/roles.ts';
import type { Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, RoleSchema } from '../schemas.ts';

const route = guardedRoutes('auth');

export function registerMe(app: OpenAPIHono<AuthEnv>, guards: Guards): void {
  app.openapi(
    route.get('/v1/me', {
      summary: "The caller: tenant, role, and the role's permissions",
      middleware: guards.read,
      responses: {
        200: json(
          z.object({ tenant_id: z.string(), role: RoleSchema, subject: z.string(), permissions: z.array(z.string()) }),
          'the caller',
        ),
      },
    }),
    (c) => {
      const { tenantId, role, subject } = c.get('principal');
      return c.json({ tenant_id: tenantId, role, subject, permissions: [...permissionsOf(role)] }, 200);
    },
  );
}
