/** Access and refresh tokens: HS256 JWTs naming the subject, tenant, role and kind. */
import { sign, verify } from 'hono/jwt';
import { loadConfig } from '../../core/config.ts';
import { ROLES, type Role } from './roles.ts';
import type { Principal } from './accounts.ts';
import { jwtSecret } from './secret.ts';

type Kind = 'access' | 'refresh';

interface Claims {
  sub: string;
  tenant: string;
  role: Role;
  kind: Kind;
  exp: number;
  iat: number;
  [key: string]: unknown;
}

export async function issueTokens(p: Principal, now = Math.floor(Date.now() / 1000)) {
  const config = loadConfig();
  const claims = (kind: Kind, ttl: number): Claims => ({ sub: p.subject, tenant: p.tenantId, role: p.role, kind, iat: now, exp: now + ttl });
  return {
    access_token: await sign(claims('access', config.ACCESS_TOKEN_TTL_S), jwtSecret(), 'HS256'),
    refresh_token: await sign(claims('refresh', config.REFRESH_TOKEN_TTL_S), jwtSecret(), 'HS256'),
    token_type: 'Bearer' as const,
    expires_in: config.ACCESS_TOKEN_TTL_S,
  };
}

/** The principal of a valid token of that kind; throws with the reason otherwise. */
export async function principalOfToken(token: string, kind: Kind): Promise<Principal> {
  const claims = (await verify(token, jwtSecret(), 'HS256')) as Partial<Claims>;
  if (claims.kind !== kind) throw new Error(`a ${claims.kind ?? 'unknown'} token cannot be used as a ${kind} token`);
  if (!claims.sub || !claims.tenant || !claims.role) throw new Error('token lacks sub, tenant or role');
  // a role this version does not know (renamed, or a token from elsewhere) would fail the permission check with a 500
  if (!(ROLES as readonly unknown[]).includes(claims.role)) throw new Error(`token names an unknown role "${String(claims.role).slice(0, 50)}"`);
  return { subject: claims.sub, tenantId: claims.tenant, role: claims.role };
}
