/**
 * Invitations: a one-time token (256 random bits, shown once, kept only as its sha256) that lets
 * its holder create an account: in the inviting tenant with the invitation's role, or, for a
 * sign-up invitation (no tenant, made by an operator: `millrace tenants invite`), a new tenant of
 * which they are the first admin. A token works until it is used, withdrawn or 7 days old.
 */
import { createHash, randomBytes } from 'node:crypto';
import { errorKind } from '../../core/errors.ts';
import type { Pool, PoolClient } from '../../core/postgres.ts';
import { AuthStoreError, TakenError } from './accounts.ts';
import type { Role } from './roles.ts';

export const INVITATION_TTL_DAYS = 7;

export class InvalidInvitationError extends errorKind('InvalidInvitationError', {
  code: 'invalid_invitation',
  status: 400,
}) {}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invited_by: string;
  created_at: string;
  expires_at: string;
}

type InvitationRow = Omit<Invitation, 'created_at' | 'expires_at'> & { created_at: Date; expires_at: Date };
const invitationOf = (r: InvitationRow): Invitation => ({
  id: r.id,
  email: r.email,
  role: r.role,
  invited_by: r.invited_by,
  created_at: r.created_at.toISOString(),
  expires_at: r.expires_at.toISOString(),
});

/**
 * Invites `email` into the tenant (null: a sign-up invitation) with `role`; the token is in this
 * answer only. An email already a member of the tenant is a 409; whether it belongs to another
 * tenant is not said here (a tenant must not learn another's members).
 *
 * @example
 * ```ts
 * const { token } = await createInvitation(db, { tenantId: 'acme', email: 'ana@acme.example', role: 'analyst', invitedBy: 'user:42' });
 * ```
 */
export async function createInvitation(
  db: Pool,
  invite: { tenantId: string | null; email: string; role: Role; invitedBy: string },
): Promise<Invitation & { token: string }> {
  const email = invite.email.toLowerCase();
  if (invite.tenantId !== null) {
    const member = await db.query('SELECT 1 FROM users WHERE tenant_id = $1 AND email = $2', [invite.tenantId, email]);
    if (member.rowCount)
      throw new TakenError(`${email} is already a member of this tenant`, { details: { field: 'email' } });
  }
  const id = randomBytes(9).toString('base64url');
  const token = `mri_${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query<InvitationRow>(
    `INSERT INTO invitations (id, tenant_id, email, role, token_sha256, invited_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7))
     RETURNING id, email, role, invited_by, created_at, expires_at`,
    [id, invite.tenantId, email, invite.role, sha256(token), invite.invitedBy, INVITATION_TTL_DAYS],
  );
  return { ...invitationOf(rows[0]!), token };
}

/** The tenant's invitations not yet used nor expired. */
export async function pendingInvitations(db: Pool, tenantId: string): Promise<Invitation[]> {
  const { rows } = await db.query<InvitationRow>(
    `SELECT id, email, role, invited_by, created_at, expires_at FROM invitations
     WHERE tenant_id = $1 AND accepted_at IS NULL AND expires_at > now() ORDER BY created_at, id`,
    [tenantId],
  );
  return rows.map(invitationOf);
}

/** Withdraws a pending invitation of the tenant; false when it has none by that id. */
export async function withdrawInvitation(db: Pool, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'DELETE FROM invitations WHERE id = $1 AND tenant_id = $2 AND accepted_at IS NULL AND expires_at > now()',
    [id, tenantId],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Marks the invitation of `token` used, inside the caller's transaction (so it is used only if the
 * account is made), and returns what it grants. `kind` says which the caller takes: a tenant's
 * invitation, or a sign-up one. An unknown, used or expired token is a 400 saying which.
 */
export async function useInvitation(
  client: PoolClient,
  token: string,
  kind: 'tenant' | 'signup',
): Promise<{ tenantId: string | null; email: string; role: Role }> {
  const { rows } = await client.query<{
    id: string;
    tenant_id: string | null;
    email: string;
    role: Role;
    accepted_at: Date | null;
    expired: boolean;
  }>(
    `SELECT id, tenant_id, email, role, accepted_at, expires_at <= now() AS expired
     FROM invitations WHERE token_sha256 = $1 FOR UPDATE`,
    [sha256(token)],
  );
  const row = rows[0];
  const refuse = (why: string) =>
    new InvalidInvitationError(`the invitation ${why}`, {
      details: { field: kind === 'tenant' ? 'token' : 'invitation' },
    });
  if (!row) throw refuse('token is unknown (or was withdrawn)');
  if (row.accepted_at) throw refuse('was already used');
  if (row.expired) throw refuse(`has expired (invitations last ${INVITATION_TTL_DAYS} days)`);
  if ((row.tenant_id === null) !== (kind === 'signup'))
    throw refuse(
      kind === 'signup'
        ? 'is to join a tenant: accept it at POST /v1/auth/accept-invitation'
        : 'is to sign up a new tenant: use it at POST /v1/auth/signup',
    );
  await client.query('UPDATE invitations SET accepted_at = now() WHERE id = $1', [row.id]);
  return { tenantId: row.tenant_id, email: row.email, role: row.role };
}

/** A sign-up invitation is for one email: the account must use it. */
export function assertInvitedEmail(invited: string, email: string): void {
  if (invited !== email.toLowerCase())
    throw new AuthStoreError('the invitation is for another email address', { details: { field: 'email' } });
}
