/** Invitations into the caller's tenant: create (the token is shown once), list the pending, withdraw. Admins only. */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { createInvitation, pendingInvitations, withdrawInvitation } from '../auth/invitations.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json, jsonBody, RoleSchema, TenantRoleSchema } from '../schemas.ts';

const route = guardedRoutes('accounts');

const InvitationSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    role: RoleSchema,
    invited_by: z.string(),
    created_at: z.string(),
    expires_at: z.string(),
  })
  .openapi('Invitation');

export function registerInvitations(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi(
    route.post('/v1/invitations', {
      summary: 'Invite someone by email with a role; the one-time token (valid 7 days) is shown only in this answer',
      idempotent: false, // the answer is a secret: never kept for a replay
      middleware: guards.manage_members,
      request: { body: jsonBody(z.object({ email: z.email().max(254), role: TenantRoleSchema })) },
      responses: { 201: json(InvitationSchema.extend({ token: z.string() }), 'the invitation and its token') },
      errors: [400, 409],
    }),
    async (c) => {
      const { email, role } = c.req.valid('json');
      const { tenantId, subject } = c.get('principal');
      return c.json(await createInvitation(db, { tenantId, email, role, invitedBy: subject }), 201);
    },
  );
  app.openapi(
    route.get('/v1/invitations', {
      summary: "The tenant's invitations not yet accepted nor expired (never their tokens)",
      middleware: guards.manage_members,
      responses: { 200: json(z.object({ invitations: z.array(InvitationSchema) }), 'pending invitations') },
    }),
    async (c) => c.json({ invitations: await pendingInvitations(db, c.get('principal').tenantId) }, 200),
  );
  app.openapi(
    route.delete('/v1/invitations/{id}', {
      summary: 'Withdraw a pending invitation: its token stops working',
      middleware: guards.manage_members,
      request: { params: z.object({ id: z.string().min(1).max(100) }) },
      responses: { 204: { description: 'withdrawn' } },
      errors: [400, 404],
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (!(await withdrawInvitation(db, c.get('principal').tenantId, id)))
        throw new ApiError(404, 'not_found', `no pending invitation "${id}" in this tenant`, 'id');
      return c.body(null, 204);
    },
  );
}
