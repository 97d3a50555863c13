/**
 * `authenticate`: `Authorization: Bearer <api key | access token>` -> the caller's principal, or
 * 401 saying why. `requirePermission`: 403 when the caller's role lacks the permission.
 */
import type { MiddlewareHandler } from 'hono';
import type { Pool } from '../../core/postgres.ts';
import { ApiError } from '../errors.ts';
import { can, type Permission } from './roles.ts';
import { principalOfKey, type Principal } from './accounts.ts';
import { principalOfSession } from './sessions.ts';
import type { Tokens } from './tokens.ts';

export type AuthEnv = { Variables: { principal: Principal; requestId: string } };

const challenge = { 'www-authenticate': 'Bearer' };

/** The principal of a bearer token (an API key or an access token), or a 401 saying why. */
export async function principalOfBearer(db: Pool, tokens: Tokens, token: string | undefined): Promise<Principal> {
  if (!token)
    throw new ApiError(
      401,
      'unauthorized',
      'missing Authorization: Bearer <api key or access token>',
      undefined,
      challenge,
    );
  if (token.startsWith('mr_')) {
    const principal = await principalOfKey(db, token);
    if (!principal) throw new ApiError(401, 'unauthorized', 'unknown or revoked API key', undefined, challenge);
    return principal;
  }
  let claims;
  try {
    claims = await tokens.claimsOf(token, 'access');
  } catch (error) {
    throw new ApiError(401, 'unauthorized', `invalid access token: ${(error as Error).message}`, undefined, challenge);
  }
  // the session and the user are looked up on every request: a removed member, a revoked session,
  // a changed role or an erased tenant (its sessions deleted) counts at once, not when the token expires
  const principal = await principalOfSession(db, claims);
  if (!principal)
    throw new ApiError(
      401,
      'unauthorized',
      'invalid access token: its session has ended (logged out, revoked, the member removed or the tenant erased)',
      undefined,
      challenge,
    );
  return principal;
}

export function authenticate(db: Pool, tokens: Tokens): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const token = c.req.header('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1];
    c.set('principal', await principalOfBearer(db, tokens, token));
    await next();
  };
}

export function requirePermission(permission: Permission): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const { role } = c.get('principal');
    if (!can(role, permission))
      throw new ApiError(403, 'forbidden', `role ${role} may not ${permission.replace('_', ' ')}`);
    await next();
  };
}
