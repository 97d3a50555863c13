/**
 * Access and refresh tokens: HS256 JWTs naming the user, tenant, role, kind and session (`sid`,
 * api/auth/sessions.ts). A refresh token also carries `jti`: the session keeps the one still valid,
 * so a refresh token works once and logout revokes it.
 */
import { sign, verify } from 'hono/jwt';
import { ROLES, type Role } from './roles.ts';
import type { Principal } from './accounts.ts';

export type TokenKind = 'access' | 'refresh';

interface Claims {
  sub: string;
  tenant: string;
  role: Role;
  kind: TokenKind;
  sid: string;
  jti?: string;
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

/** What a valid token says: its principal, its session, and (a refresh token) its id. */
export type TokenClaims = Principal & { sessionId: string; jti?: string };

export interface Tokens {
  /** A new access and refresh token of the session; the refresh token's id is `refreshJti`. */
  issue(p: Principal, session: { id: string; refreshJti: string }, now?: number): Promise<TokenPair>;
  /** What a valid token of that kind says; throws with the reason otherwise. */
  claimsOf(token: string, kind: TokenKind): Promise<TokenClaims>;
  /** How long a refresh token (and so an idle session) lives, in seconds. */
  readonly refreshTtlS: number;
}

/**
 * Issues and checks tokens signed with one secret.
 *
 * @example
 * ```ts
 * const tokens = createTokens({ secret: jwtSecret(config), accessTtlS: 900, refreshTtlS: 604_800 });
 * const claims = await tokens.claimsOf((await tokens.issue(p, { id: sid, refreshJti })).access_token, 'access');
 * ```
 */
export function createTokens(options: { secret: string; accessTtlS: number; refreshTtlS: number }): Tokens {
  const { secret, accessTtlS, refreshTtlS } = options;
  return {
    refreshTtlS,
    async issue(p, session, now = Math.floor(Date.now() / 1000)) {
      const claims = (kind: TokenKind, ttl: number): Claims => ({
        sub: p.subject,
        tenant: p.tenantId,
        role: p.role,
        kind,
        sid: session.id,
        ...(kind === 'refresh' ? { jti: session.refreshJti } : {}),
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
    async claimsOf(token, kind) {
      const claims = (await verify(token, secret, 'HS256')) as Partial<Claims>;
      if (claims.kind !== kind)
        throw new Error(`a ${claims.kind ?? 'unknown'} token cannot be used as a ${kind} token`);
      if (!claims.sub || !claims.tenant || !claims.role) throw new Error('token lacks sub, tenant or role');
      // a role this version does not know (renamed, or a token from elsewhere) would fail the permission check with a 500
      if (!(ROLES as readonly unknown[]).includes(claims.role))
        throw new Error(`token names an unknown role "${String(claims.role).slice(0, 50)}"`);
      if (typeof claims.sid !== 'string') throw new Error('token names no session: log in again');
      if (kind === 'refresh' && typeof claims.jti !== 'string') throw new Error('refresh token has no id');
      return {
        subject: claims.sub,
        tenantId: claims.tenant,
        role: claims.role,
        sessionId: claims.sid,
        ...(claims.jti === undefined ? {} : { jti: claims.jti }),
      };
    },
  };
}
