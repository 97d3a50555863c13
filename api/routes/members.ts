/**
 * The members of the caller's tenant (its users) with their roles: list, change a role, remove.
 * Admins only. The last admin cannot be demoted or removed (409); a removed member's tokens stop
 * at their next request (api/auth/sessions.ts).
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { listMembers, removeMember, setMemberRole } from '../auth/members.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody, RoleSchema, TenantRoleSchema } from '../schemas.ts';

const route = guardedRoutes('accounts');

export const MemberSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    display_name: z.string().nullable(),
    role: RoleSchema,
    created_at: z.string(),
  })
  .openapi('Member');

const IdParams = z.object({ id: z.string().min(1).max(100) });

export function registerMembers(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi(
    route.get('/v1/members', {
      summary: "The tenant's members and their roles",
      middleware: guards.manage_members,
      responses: { 200: json(z.object({ members: z.array(MemberSchema) }), 'members') },
    }),
    async (c) => c.json({ members: await listMembers(db, c.get('principal').tenantId) }, 200),
  );
  app.openapi(
    route.put('/v1/members/{id}', {
      summary: "Change a member's role (the last admin stays admin: 409)",
      middleware: guards.manage_members,
      request: { params: IdParams, body: jsonBody(z.object({ role: TenantRoleSchema })) },
      responses: { 200: json(MemberSchema, 'the member') },
      errors: [400, 404, 409],
    }),
    async (c) =>
      c.json(
        await setMemberRole(db, c.get('principal').tenantId, c.req.valid('param').id, c.req.valid('json').role),
        200,
      ),
  );
  app.openapi(
    route.delete('/v1/members/{id}', {
      summary: 'Remove a member: their sessions end and their tokens stop at once (the last admin: 409)',
      middleware: guards.manage_members,
      request: { params: IdParams },
      responses: { 204: { description: 'removed' } },
      errors: [400, 404, 409],
    }),
    async (c) => {
      await removeMember(db, c.get('principal').tenantId, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
