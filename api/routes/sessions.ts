/**
 * Sessions (one per login): an admin sees and ends any of the tenant's, anyone else only their
 * own (an API key has none). Ending a session stops its refresh token and its access tokens.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth/middleware.ts';
import type { Principal } from '../auth/accounts.ts';
import { can } from '../auth/roles.ts';
import { listSessions, revokeSession, userIdOf } from '../auth/sessions.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { guardedRoutes } from '../route-spec.ts';
import { json } from '../schemas.ts';

const route = guardedRoutes('accounts');

const SessionSchema = z
  .object({
    id: z.string(),
    user_id: z.string(),
    email: z.string(),
    user_agent: z.string().nullable(),
    created_at: z.string(),
    refreshed_at: z.string().nullable(),
    expires_at: z.string(),
    current: z.boolean().openapi({ description: "the caller's own session" }),
  })
  .openapi('Session');

/** Whose sessions the caller reaches: undefined for all of the tenant's (an admin), else one user's ('' for a key: nobody's). */
const ownerScope = (principal: Principal): string | undefined =>
  can(principal.role, 'manage_members') ? undefined : (userIdOf(principal) ?? '');

export function registerSessions(app: OpenAPIHono<AuthEnv>, { db }: Pick<ApiDeps, 'db'>, guards: Guards): void {
  app.openapi(
    route.get('/v1/sessions', {
      summary: "Live sessions: an admin's answer has the tenant's, anyone else's their own",
      middleware: guards.read,
      responses: { 200: json(z.object({ sessions: z.array(SessionSchema) }), 'sessions') },
    }),
    async (c) => {
      const principal = c.get('principal');
      return c.json(
        { sessions: await listSessions(db, principal.tenantId, ownerScope(principal), principal.sessionId) },
        200,
      );
    },
  );
  app.openapi(
    route.delete('/v1/sessions/{id}', {
      summary: 'End a session: its refresh and access tokens stop working',
      middleware: guards.read,
      request: { params: z.object({ id: z.string().min(1).max(100) }) },
      responses: { 204: { description: 'ended' } },
      errors: [400, 404],
    }),
    async (c) => {
      const principal = c.get('principal');
      const { id } = c.req.valid('param');
      if (!(await revokeSession(db, principal.tenantId, id, ownerScope(principal))))
        throw new ApiError(404, 'not_found', `no session "${id}" in this tenant`, 'id');
      return c.body(null, 204);
    },
  );
}
