/** Login with email and password, and refresh: both answer with an access and a refresh token. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { principalOfLogin, tenantExists, type Principal } from '../auth/accounts.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, json, jsonBody, TokensSchema } from '../schemas.ts';

const tokens = { 200: json(TokensSchema, 'tokens') };

export function registerAuth(app: OpenAPIHono, { db, tokens: issuer }: Pick<ApiDeps, 'db' | 'tokens'>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/login',
      tags: ['auth'],
      summary: 'Exchange email and password for tokens',
      request: { body: jsonBody(z.object({ email: z.email(), password: z.string().min(1) })) },
      responses: { ...tokens, ...errorResponses(400, 401, 429) },
    }),
    async (c) => {
      const { email, password } = c.req.valid('json');
      const principal = await principalOfLogin(db, email, password);
      if (!principal) throw new ApiError(401, 'unauthorized', 'wrong email or password');
      return c.json(await issuer.issue(principal), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/refresh',
      tags: ['auth'],
      summary: 'Exchange a refresh token for new tokens',
      request: { body: jsonBody(z.object({ refresh_token: z.string().min(1) })) },
      responses: { ...tokens, ...errorResponses(400, 401, 429) },
    }),
    async (c) => {
      let principal: Principal;
      try {
        principal = await issuer.principalOf(c.req.valid('json').refresh_token, 'refresh');
      } catch (error) {
        throw new ApiError(401, 'unauthorized', `invalid refresh token: ${(error as Error).message}`);
      }
      // the session of an erased tenant ends here, however long its refresh token had to run
      if (!(await tenantExists(db, principal.tenantId)))
        throw new ApiError(401, 'unauthorized', 'invalid refresh token: its tenant no longer exists');
      return c.json(await issuer.issue(principal), 200);
    },
  );
}
