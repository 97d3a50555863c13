/** Access and refresh tokens: HS256 JWTs naming the subject, tenant, role and kind. */
import { sign, verify } from 'hono/jwt';
import { ROLES, type Role } from './roles.ts';
import type { Principal } from './accounts.ts';

export type TokenKind = 'access' | 'refresh';

interface Claims {
  sub: string;
  tenant: string;
  role: Role;
  kind: TokenKind;
  exp: number;
  iat: number;
  [key: string]: unknown;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export interface Tokens {
  /** A new access and refresh token for the principal. */
  issue(p: Principal, now?: number): Promise<TokenPair>;
  /** The principal of a valid token of that kind; throws with the reason otherwise. */
  principalOf(token: string, kind: TokenKind): Promise<Principal>;
}

/**
 * Issues and checks tokens signed with one secret.
 *
 * @example
 * ```ts
 * const tokens = createTokens({ secret: jwtSecret(config), accessTtlS: 900, refreshTtlS: 604_800 });
 * const principal = await tokens.principalOf((await tokens.issue(p)).access_token, 'access');
 * ```
 */
export function createTokens(options: { secret: string; accessTtlS: number; refreshTtlS: number }): Tokens {
  const { secret, accessTtlS, refreshTtlS } = options;
  return {
    async issue(p, now = Math.floor(Date.now() / 1000)) {
      const claims = (kind: TokenKind, ttl: number): Claims => ({
        sub: p.subject,
        tenant: p.tenantId,
        role: p.role,
        kind,
        iat: now,
        exp: now + ttl,
      });
      return {
        access_token: await sign(claims('access', accessTtlS), secret, 'HS256'),
        refresh_token: await sign(claims('refresh', refreshTtlS), secret, 'HS256'),
        token_type: 'Bearer' as const,
        expires_in: accessTtlS,
      };
    },
    async principalOf(token, kind) {
      const claims = (await verify(token, secret, 'HS256')) as Partial<Claims>;
      if (claims.kind !== kind)
        throw new Error(`a ${claims.kind ?? 'unknown'} token cannot be used as a ${kind} token`);
      if (!claims.sub || !claims.tenant || !claims.role) throw new Error('token lacks sub, tenant or role');
      // a role this version does not know (renamed, or a token from elsewhere) would fail the permission check with a 500
      if (!(ROLES as readonly unknown[]).includes(claims.role))
        throw new Error(`token names an unknown role "${String(claims.role).slice(0, 50)}"`);
      return { subject: claims.sub, tenantId: claims.tenant, role: claims.role };
    },
  };
}
