/**
 * The members of a tenant (its users) and each member's own profile. A tenant always keeps an
 * admin: demoting or removing the last one is refused, under a lock on the tenant's admins so two
 * admins demoting each other at once cannot both succeed. A removed member's sessions go with
 * the user row (ON DELETE CASCADE), so their tokens stop at the next request.
 */
import { hash } from '@node-rs/argon2';
import { errorKind } from '../../core/errors.ts';
import { inTransaction, type Pool, type PoolClient } from '../../core/postgres.ts';
import { AuthStoreError, passwordMatches, TakenError } from './accounts.ts';
import { passwordProblem } from './password-policy.ts';
import type { Role } from './roles.ts';
import { revokeUserSessions } from './sessions.ts';

/** The tenant has no member by that id: the same words whether it is another tenant's or none at all. */
export class UnknownMemberError extends errorKind('UnknownMemberError', { code: 'not_found', status: 404 }) {}
export class LastAdminError extends errorKind('LastAdminError', { code: 'last_admin', status: 409 }) {}
export class OperatorMemberError extends errorKind('OperatorMemberError', { code: 'forbidden', status: 403 }) {}
export class WrongPasswordError extends errorKind('WrongPasswordError', { code: 'wrong_password', status: 403 }) {}

export interface Member {
  id: string;
  email: string;
  display_name: string | null;
  role: Role;
  created_at: string;
}

type MemberRow = { id: string; email: string; display_name: string | null; role: Role; created_at: Date };
const memberOf = (r: MemberRow): Member => ({ ...r, created_at: r.created_at.toISOString() });
const unknown = (id: string) =>
  new UnknownMemberError(`no member "${id}" in this tenant`, { details: { field: 'id' } });

export async function listMembers(db: Pool, tenantId: string): Promise<Member[]> {
  const { rows } = await db.query<MemberRow>(
    'SELECT id, email, display_name, role, created_at FROM users WHERE tenant_id = $1 ORDER BY created_at, id',
    [tenantId],
  );
  return rows.map(memberOf);
}

export async function memberById(db: Pool, tenantId: string, id: string): Promise<Member> {
  const { rows } = await db.query<MemberRow>(
    'SELECT id, email, display_name, role, created_at FROM users WHERE id = $1 AND tenant_id = $2',
    [id, tenantId],
  );
  if (!rows[0]) throw unknown(id);
  return memberOf(rows[0]);
}

/**
 * Locks the tenant's admins and the member, and refuses a change that leaves no admin
 * (`staysAdmin`: the member is an admin after it) or touches an operator (granted only from the
 * command line).
 */
async function lockedMember(client: PoolClient, tenantId: string, id: string, staysAdmin: boolean): Promise<MemberRow> {
  const { rows: admins } = await client.query<{ id: string }>(
    "SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' ORDER BY id FOR UPDATE",
    [tenantId],
  );
  const { rows } = await client.query<MemberRow>(
    'SELECT id, email, display_name, role, created_at FROM users WHERE id = $1 AND tenant_id = $2 FOR UPDATE',
    [id, tenantId],
  );
  const member = rows[0];
  if (!member) throw unknown(id);
  if (member.role === 'operator')
    throw new OperatorMemberError('an operator is granted and removed only from the command line');
  if (member.role === 'admin' && !staysAdmin && admins.length === 1)
    throw new LastAdminError("this is the tenant's last admin: make another member admin first", {
      details: { field: 'id' },
    });
  return member;
}

export async function setMemberRole(db: Pool, tenantId: string, id: string, role: Role): Promise<Member> {
  return inTransaction(db, async (client) => {
    const member = await lockedMember(client, tenantId, id, role === 'admin');
    await client.query('UPDATE users SET role = $2 WHERE id = $1', [id, role]);
    return memberOf({ ...member, role });
  });
}

/** Removes the member: the user row and, with it, every session. */
export async function removeMember(db: Pool, tenantId: string, id: string): Promise<void> {
  await inTransaction(db, async (client) => {
    await lockedMember(client, tenantId, id, false);
    await client.query('DELETE FROM users WHERE id = $1', [id]);
  });
}

/** Changes the display name and, confirmed by the password, the email. */
export async function updateProfile(
  db: Pool,
  tenantId: string,
  userId: string,
  change: { display_name?: string | null; email?: string; password?: string },
): Promise<Member> {
  if (change.email !== undefined) {
    if (change.password === undefined)
      throw new AuthStoreError('changing the email needs the current password', { details: { field: 'password' } });
    if (!(await passwordMatches(db, userId, change.password)))
      throw new WrongPasswordError('the password is wrong', { details: { field: 'password' } });
  }
  const taken = () => new TakenError(`email ${change.email ?? ''} is taken`, { details: { field: 'email' } });
  const { rows } = await db
    .query<MemberRow>(
      `UPDATE users SET display_name = CASE WHEN $3 THEN $4 ELSE display_name END, email = coalesce(lower($5), email)
     WHERE id = $1 AND tenant_id = $2
       AND ($5::text IS NULL OR NOT EXISTS (SELECT 1 FROM users o WHERE o.email = lower($5) AND o.id <> $1))
     RETURNING id, email, display_name, role, created_at`,
      [userId, tenantId, change.display_name !== undefined, change.display_name ?? null, change.email ?? null],
    )
    .catch((error: unknown) => {
      // the same email claimed by another user between the check and the write
      throw (error as { code?: string }).code === '23505' ? taken() : error;
    });
  if (!rows[0]) {
    await memberById(db, tenantId, userId); // removed meanwhile: a 404
    throw taken();
  }
  return memberOf(rows[0]);
}

/** Changes the password, checked against the current one, and revokes every other session of the user. */
export async function changePassword(
  db: Pool,
  user: { id: string; email: string },
  current: string,
  next: string,
  keepSessionId: string | undefined,
): Promise<{ sessions_revoked: number }> {
  if (!(await passwordMatches(db, user.id, current)))
    throw new WrongPasswordError('the current password is wrong', { details: { field: 'current' } });
  const problem =
    passwordProblem(next, user.email) ?? (next === current ? 'the new password is the current one' : undefined);
  if (problem) throw new AuthStoreError(problem.replace(/^password/, 'new password'), { details: { field: 'new' } });
  const passwordHash = await hash(next);
  return inTransaction(db, async (client) => {
    await client.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, passwordHash]);
    return { sessions_revoked: await revokeUserSessions(client, user.id, keepSessionId) };
  });
}
