/**
 * `authenticate`: `Authorization: Bearer <api key | access token>` -> the caller's principal, or
 * 401 saying why. `requirePermission`: 403 when the caller's role lacks the permission.
 */
import type { MiddlewareHandler } from 'hono';
import type { Pool } from '../../core/postgres.ts';
import { ApiError } from '../errors.ts';
import { can, type Permission } from './roles.ts';
import { principalOfKey, type Principal } from './store.ts';
import { principalOfToken } from './tokens.ts';

export type AuthEnv = { Variables: { principal: Principal; requestId: string } };

const challenge = { 'www-authenticate': 'Bearer' };

export function authenticate(db: Pool): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!token) throw new ApiError(401, 'unauthorized', 'missing Authorization: Bearer <api key or access token>', undefined, challenge);
    let principal: Principal | undefined;
    if (token.startsWith('mr_')) {
      principal = await principalOfKey(db, token);
      if (!principal) throw new ApiError(401, 'unauthorized', 'unknown or revoked API key', undefined, challenge);
    } else {
      try {
        principal = await principalOfToken(token, 'access');
      } catch (error) {
        throw new ApiError(401, 'unauthorized', `invalid access token: ${(error as Error).message}`, undefined, challenge);
      }
    }
    c.set('principal', principal);
    await next();
  };
}

export function requirePermission(permission: Permission): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const { role } = c.get('principal');
    if (!can(role, permission)) throw new ApiError(403, 'forbidden', `role ${role} may not ${permission.replace('_', ' ')}`);
    await next();
  };
}
