/**
 * Sessions: one per login (or sign-up), named by `sid` in its tokens. Every request with an access
 * token finds its session and user here, so a revoked session, a removed member or a changed role
 * counts at once rather than when the token expires. A refresh token works once: refreshing
 * rotates the session's `refresh_jti`, and an old one presented again (a stolen copy, or the
 * legitimate one after the thief's use) revokes the whole session.
 */
import { randomBytes } from 'node:crypto';
import { errorKind } from '../../core/errors.ts';
import type { Pool, PoolClient } from '../../core/postgres.ts';
import type { Principal } from './accounts.ts';
import type { Role } from './roles.ts';
import type { TokenClaims, TokenPair, Tokens } from './tokens.ts';

/** A refresh token whose session has ended, or that was already used. */
export class SessionEndedError extends errorKind('SessionEndedError', { code: 'unauthorized', status: 401 }) {}

const randomId = () => randomBytes(16).toString('base64url');
const USER_SUBJECT = /^user:(.+)$/;

/** The user id of a `user:<id>` subject; undefined for an API key's. */
export const userIdOf = (principal: Pick<Principal, 'subject'>): string | undefined =>
  USER_SUBJECT.exec(principal.subject)?.[1];

/**
 * Opens a session for a user and issues its first tokens.
 *
 * @example
 * ```ts
 * const pair = await openSession(db, tokens, { userId, tenantId, role }, c.req.header('user-agent'));
 * ```
 */
export async function openSession(
  db: Pool | PoolClient,
  tokens: Tokens,
  user: { userId: string; tenantId: string; role: Role },
  userAgent?: string,
): Promise<TokenPair> {
  const id = randomId();
  const refreshJti = randomId();
  await db.query(
    `INSERT INTO sessions (id, tenant_id, user_id, refresh_jti, user_agent, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [id, user.tenantId, user.userId, refreshJti, userAgent?.slice(0, 300) ?? null, tokens.refreshTtlS],
  );
  if (Math.random() < 0.01) {
    // ended sessions go once no refresh token of theirs can still be valid (it could only be refused)
    await db.query('DELETE FROM sessions WHERE expires_at < now() OR revoked_at < now() - make_interval(secs => $1)', [
      tokens.refreshTtlS,
    ]);
  }
  return tokens.issue({ tenantId: user.tenantId, role: user.role, subject: `user:${user.userId}` }, { id, refreshJti });
}

/** The caller of an access token as it is now (the user's current role); undefined once its session has ended. */
export async function principalOfSession(db: Pool, claims: TokenClaims): Promise<Principal | undefined> {
  const userId = userIdOf(claims);
  if (!userId) return undefined;
  const { rows } = await db.query<{ tenant_id: string; role: Role }>(
    `SELECT u.tenant_id, u.role FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()`,
    [claims.sessionId, userId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { tenantId: row.tenant_id, role: row.role, subject: claims.subject, sessionId: claims.sessionId };
}

/** New tokens for a refresh token's session, which now accepts only the new refresh token. */
export async function refreshSession(db: Pool, tokens: Tokens, claims: TokenClaims): Promise<TokenPair> {
  const refreshJti = randomId();
  const { rows } = await db.query<{ tenant_id: string; role: Role; user_id: string }>(
    `UPDATE sessions s SET refresh_jti = $3, refreshed_at = now(), expires_at = now() + make_interval(secs => $4)
     FROM users u
     WHERE s.id = $1 AND s.refresh_jti = $2 AND u.id = s.user_id AND s.revoked_at IS NULL AND s.expires_at > now()
     RETURNING u.tenant_id, u.role, u.id AS user_id`,
    [claims.sessionId, claims.jti, refreshJti, tokens.refreshTtlS],
  );
  const row = rows[0];
  if (!row) {
    // an older refresh token of a live session: someone kept a copy. End the session for everyone.
    const reused = await db.query(
      'UPDATE sessions SET revoked_at = now() WHERE id = $1 AND refresh_jti <> $2 AND revoked_at IS NULL',
      [claims.sessionId, claims.jti],
    );
    throw new SessionEndedError(
      reused.rowCount
        ? 'invalid refresh token: it was already used, so the session is revoked; log in again'
        : 'invalid refresh token: its session has ended (logged out, revoked, expired, or the member removed)',
    );
  }
  return tokens.issue(
    { tenantId: row.tenant_id, role: row.role, subject: `user:${row.user_id}` },
    { id: claims.sessionId, refreshJti },
  );
}

export interface SessionView {
  id: string;
  user_id: string;
  email: string;
  user_agent: string | null;
  created_at: string;
  refreshed_at: string | null;
  expires_at: string;
  current: boolean;
}

/** The live sessions of a tenant, or of one of its users. */
export async function listSessions(
  db: Pool,
  tenantId: string,
  userId: string | undefined,
  currentId?: string,
): Promise<SessionView[]> {
  const { rows } = await db.query<{
    id: string;
    user_id: string;
    email: string;
    user_agent: string | null;
    created_at: Date;
    refreshed_at: Date | null;
    expires_at: Date;
  }>(
    `SELECT s.id, s.user_id, u.email, s.user_agent, s.created_at, s.refreshed_at, s.expires_at
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.tenant_id = $1 AND ($2::text IS NULL OR s.user_id = $2) AND s.revoked_at IS NULL AND s.expires_at > now()
     ORDER BY s.created_at, s.id`,
    [tenantId, userId ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    user_id: r.user_id,
    email: r.email,
    user_agent: r.user_agent,
    created_at: r.created_at.toISOString(),
    refreshed_at: r.refreshed_at?.toISOString() ?? null,
    expires_at: r.expires_at.toISOString(),
    current: r.id === currentId,
  }));
}

/** Revokes a live session of the tenant (of that user only, when given); false when there is none. */
export async function revokeSession(
  db: Pool,
  tenantId: string,
  id: string,
  userId: string | undefined,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sessions SET revoked_at = now()
     WHERE id = $1 AND tenant_id = $2 AND ($3::text IS NULL OR user_id = $3) AND revoked_at IS NULL AND expires_at > now()`,
    [id, tenantId, userId ?? null],
  );
  return (rowCount ?? 0) > 0;
}

/** Ends a refresh token's session (logout); false when it had already ended. */
export async function endSession(db: Pool, claims: TokenClaims): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL',
    [claims.sessionId, userIdOf(claims) ?? ''],
  );
  return (rowCount ?? 0) > 0;
}

/** Revokes every session of a user but `keepId` (a password change keeps the caller's own). */
export async function revokeUserSessions(db: Pool | PoolClient, userId: string, keepId?: string): Promise<number> {
  const { rowCount } = await db.query(
    'UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL',
    [userId, keepId ?? ''],
  );
  return rowCount ?? 0;
}
