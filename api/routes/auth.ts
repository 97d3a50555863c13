/**
 * Getting and ending sessions, without credentials in the header: login with email and password,
 * refresh, logout, sign-up (a new tenant, as SIGNUP_MODE allows) and accepting an invitation. All
 * but logout answer with an access and a refresh token.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { principalOfLogin } from '../auth/accounts.ts';
import { endSession, openSession, refreshSession, userIdOf } from '../auth/sessions.ts';
import { acceptInvitation, signUp } from '../auth/signup.ts';
import type { TokenClaims, Tokens } from '../auth/tokens.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, json, jsonBody, TokensSchema } from '../schemas.ts';

const tokens = { 200: json(TokensSchema, 'tokens') };
const AccountSchema = TokensSchema.extend({ tenant_id: z.string(), user_id: z.string() }).openapi('NewAccount');
const EmailSchema = z.email().max(254);
const PasswordSchema = z.string().min(1).max(4096);
const DisplayNameSchema = z.string().trim().min(1).max(200);
const RefreshBody = jsonBody(z.object({ refresh_token: z.string().min(1).max(4096) }));

/** What a refresh token says, or a 401 naming why it is no good. */
async function refreshClaims(issuer: Tokens, token: string): Promise<TokenClaims> {
  try {
    return await issuer.claimsOf(token, 'refresh');
  } catch (error) {
    throw new ApiError(401, 'unauthorized', `invalid refresh token: ${(error as Error).message}`);
  }
}

export function registerAuth(
  app: OpenAPIHono,
  { db, tokens: issuer, settings }: Pick<ApiDeps, 'db' | 'tokens' | 'settings'>,
): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/login',
      tags: ['auth'],
      summary: 'Exchange email and password for tokens (a new session)',
      request: { body: jsonBody(z.object({ email: z.email(), password: z.string().min(1) })) },
      responses: { ...tokens, ...errorResponses(400, 401, 429) },
    }),
    async (c) => {
      const { email, password } = c.req.valid('json');
      const principal = await principalOfLogin(db, email, password);
      if (!principal) throw new ApiError(401, 'unauthorized', 'wrong email or password');
      const user = { userId: userIdOf(principal)!, tenantId: principal.tenantId, role: principal.role };
      return c.json(await openSession(db, issuer, user, c.req.header('user-agent')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/refresh',
      tags: ['auth'],
      summary: 'Exchange a refresh token for new tokens; the refresh token works once',
      request: { body: RefreshBody },
      responses: { ...tokens, ...errorResponses(400, 401, 429) },
    }),
    async (c) => {
      // an erased tenant's sessions are deleted with it: its refresh tokens find none
      const claims = await refreshClaims(issuer, c.req.valid('json').refresh_token);
      return c.json(await refreshSession(db, issuer, claims), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/logout',
      tags: ['auth'],
      summary: "End the refresh token's session: it and the session's access tokens stop working",
      request: { body: RefreshBody },
      responses: { 204: { description: 'the session has ended' }, ...errorResponses(400, 401, 429) },
    }),
    async (c) => {
      const claims = await refreshClaims(issuer, c.req.valid('json').refresh_token);
      if (!(await endSession(db, claims)))
        throw new ApiError(401, 'unauthorized', 'invalid refresh token: its session has already ended');
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/signup',
      tags: ['auth'],
      summary:
        'Create a tenant and its first admin (SIGNUP_MODE: open; invite needs a sign-up invitation; closed refuses)',
      request: {
        body: jsonBody(
          z.object({
            tenant: z.string().min(1).max(200),
            email: EmailSchema,
            password: PasswordSchema,
            display_name: DisplayNameSchema.optional(),
            invitation: z.string().min(1).max(200).optional(),
          }),
        ),
      },
      responses: {
        201: json(AccountSchema, 'the tenant, its admin, and their tokens'),
        ...errorResponses(400, 403, 409, 429),
      },
    }),
    async (c) =>
      c.json(await signUp(db, issuer, settings.signupMode, c.req.valid('json'), c.req.header('user-agent')), 201),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/accept-invitation',
      tags: ['auth'],
      summary: "Accept an invitation: a user of the inviting tenant with the invitation's email and role",
      request: {
        body: jsonBody(
          z.object({
            token: z.string().min(1).max(200),
            password: PasswordSchema,
            display_name: DisplayNameSchema.optional(),
          }),
        ),
      },
      responses: { 201: json(AccountSchema, 'the new member and their tokens'), ...errorResponses(400, 409, 429) },
    }),
    async (c) => c.json(await acceptInvitation(db, issuer, c.req.valid('json'), c.req.header('user-agent')), 201),
  );
}
