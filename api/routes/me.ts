/**
 * The caller: `GET /v1/me` (tenant, role and what the role may do: the console shows pages by it),
 * and a signed-in user's own profile (display name, email) and password. An API key has no
 * profile nor password: those routes are a 403 for it.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Principal } from '../auth/accounts.ts';
import { changePassword, memberById, updateProfile } from '../auth/members.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import { permissionsOf } from '../auth/roles.ts';
import { userIdOf } from '../auth/sessions.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody, RoleSchema } from '../schemas.ts';
import { MemberSchema } from './members.ts';

const route = guardedRoutes('auth');
const ProfileSchema = MemberSchema.extend({ tenant_id: z.string() }).openapi('Profile');

/** The caller's user id; a 403 for an API key. */
function userOf(principal: Principal): string {
  const id = userIdOf(principal);
  if (!id) throw new ApiError(403, 'forbidden', 'an API key has no profile nor password: log in as a user');
  return id;
}

export function registerMe(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
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
  app.openapi(
    route.get('/v1/me/profile', {
      summary: "The signed-in user's profile",
      middleware: guards.read,
      responses: { 200: json(ProfileSchema, 'the profile') },
    }),
    async (c) => {
      const { tenantId } = c.get('principal');
      return c.json({ ...(await memberById(db, tenantId, userOf(c.get('principal')))), tenant_id: tenantId }, 200);
    },
  );
  app.openapi(
    route.put('/v1/me/profile', {
      summary: 'Change the display name (null clears it) and the email (with the current password)',
      middleware: guards.read,
      request: {
        body: jsonBody(
          z
            .object({
              display_name: z.string().trim().min(1).max(200).nullable().optional(),
              email: z.email().max(254).optional(),
              password: z.string().min(1).max(4096).optional(),
            })
            .strict(),
        ),
      },
      responses: { 200: json(ProfileSchema, 'the profile') },
      errors: [400, 404, 409],
    }),
    async (c) => {
      const { tenantId } = c.get('principal');
      const profile = await updateProfile(db, tenantId, userOf(c.get('principal')), c.req.valid('json'));
      return c.json({ ...profile, tenant_id: tenantId }, 200);
    },
  );
  app.openapi(
    route.post('/v1/me/password', {
      summary: 'Change the password; every other session of the user ends (this one stays)',
      middleware: guards.read,
      request: {
        body: jsonBody(z.object({ current: z.string().min(1).max(4096), new: z.string().min(1).max(4096) }).strict()),
      },
      responses: { 200: json(z.object({ sessions_revoked: z.number().int() }), 'changed') },
      errors: [400, 404],
    }),
    async (c) => {
      const principal = c.get('principal');
      const { current, new: next } = c.req.valid('json');
      const member = await memberById(db, principal.tenantId, userOf(principal));
      return c.json(await changePassword(db, member, current, next, principal.sessionId), 200);
    },
  );
}
