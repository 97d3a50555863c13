/**
 * Tenants, API keys and users in Postgres. An API key is `mr_<id>_<secret>`: the id finds the row,
 * the secret (256 random bits) is compared by its sha256 in constant time. Keys are returned in
 * full only by `createKey`; afterwards only their id is known.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Pool, PoolClient } from '../../core/postgres.ts';
import { ROLES, type Role } from './roles.ts';
import { errorKind } from '../../core/errors.ts';
import { passwordProblem } from './password-policy.ts';

export interface Principal {
  tenantId: string;
  role: Role;
  /** `key:<id>` or `user:<id>`: what rate limits count against. */
  subject: string;
  /** a user's session (api/auth/sessions.ts); an API key has none */
  sessionId?: string;
}

export class AuthStoreError extends errorKind('AuthStoreError', { code: 'auth_store', status: 400 }) {}
/** A tenant name or an email someone already has: a 409 that says only that it is taken. */
export class TakenError extends errorKind('TakenError', { code: 'taken', status: 409 }) {}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const KEY_FORMAT = /^mr_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function assertRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw new AuthStoreError(`role must be one of ${ROLES.join(', ')}; got "${role}"`);
  return role as Role;
}

/** Why a tenant name cannot be used, or undefined when it can. */
export function tenantNameProblem(name: string): string | undefined {
  return /^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)
    ? undefined
    : `tenant name must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit; got "${name.slice(0, 80)}"`;
}

export async function createTenant(db: Pool | PoolClient, name: string): Promise<{ id: string; name: string }> {
  const problem = tenantNameProblem(name);
  if (problem) throw new AuthStoreError(problem, { details: { field: 'tenant' } });
  // an erased tenant's name is taken again only once the log can no longer hold its records (domain/tenants/erasure.ts)
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO tenants (id, name) VALUES ($1, $1)
     ON CONFLICT (name) DO UPDATE SET erased_at = NULL, name_free_at = NULL, created_at = now()
       WHERE tenants.erased_at IS NOT NULL AND tenants.name_free_at <= now()
     RETURNING id`,
    [name],
  );
  if (rows.length > 0) return { id: name, name };
  const { rows: erased } = await db.query<{ name_free_at: Date }>(
    'SELECT name_free_at FROM tenants WHERE name = $1 AND erased_at IS NOT NULL',
    [name],
  );
  if (erased[0])
    throw new TakenError(
      `tenant "${name}" was erased; its name is free again from ${erased[0].name_free_at.toISOString()}, when the log no longer holds its records`,
      { details: { field: 'tenant' } },
    );
  throw new TakenError(`tenant name "${name}" is taken`, { details: { field: 'tenant' } });
}

/** Whether the tenant exists and is not erased. */
export async function tenantExists(db: Pool | PoolClient, tenantId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM tenants WHERE id = $1 AND erased_at IS NULL', [tenantId]);
  return (rowCount ?? 0) > 0;
}

export async function createKey(
  db: Pool,
  tenantId: string,
  role: Role,
  label?: string,
): Promise<{ id: string; key: string }> {
  if (!(await tenantExists(db, tenantId))) throw new AuthStoreError(`no tenant "${tenantId}"`);
  const id = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  await db.query('INSERT INTO api_keys (id, tenant_id, role, secret_sha256, label) VALUES ($1, $2, $3, $4, $5)', [
    id,
    tenantId,
    role,
    sha256(secret),
    label ?? null,
  ]);
  return { id, key: `mr_${id}_${secret}` };
}

/** The principal of a valid, unrevoked key; undefined for anything else. */
export async function principalOfKey(db: Pool, key: string): Promise<Principal | undefined> {
  const match = KEY_FORMAT.exec(key);
  if (!match) return undefined;
  const [, id, secret] = match as unknown as [string, string, string];
  const { rows } = await db.query<{ tenant_id: string; role: Role; secret_sha256: string }>(
    'SELECT tenant_id, role, secret_sha256 FROM api_keys WHERE id = $1 AND revoked_at IS NULL',
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const ok = timingSafeEqual(Buffer.from(row.secret_sha256, 'hex'), Buffer.from(sha256(secret), 'hex'));
  return ok ? { tenantId: row.tenant_id, role: row.role, subject: `key:${id}` } : undefined;
}

export async function listKeys(db: Pool, tenantId: string) {
  const { rows } = await db.query<{
    id: string;
    role: Role;
    label: string | null;
    created_at: Date;
    revoked_at: Date | null;
  }>('SELECT id, role, label, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at', [
    tenantId,
  ]);
  return rows.map((r) => ({
    id: r.id,
    role: r.role,
    label: r.label,
    created_at: r.created_at.toISOString(),
    revoked_at: r.revoked_at?.toISOString() ?? null,
  }));
}

/** Revokes a key of the tenant; false when the tenant has no such key. */
export async function revokeKey(db: Pool, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND tenant_id = $2',
    [id, tenantId],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * A user of the tenant; the password must pass the policy (api/auth/password-policy.ts). Emails are
 * unique across tenants (login names only the email): a taken one is a 409.
 */
export async function createUser(
  db: Pool | PoolClient,
  tenantId: string,
  email: string,
  password: string,
  role: Role,
  displayName?: string,
): Promise<{ id: string }> {
  const problem = passwordProblem(password, email);
  if (problem) throw new AuthStoreError(problem, { details: { field: 'password' } });
  if (!(await tenantExists(db, tenantId))) throw new AuthStoreError(`no tenant "${tenantId}"`);
  const id = randomUUID();
  const { rowCount } = await db.query(
    `INSERT INTO users (id, tenant_id, email, password_hash, role, display_name)
     VALUES ($1, $2, lower($3), $4, $5, $6) ON CONFLICT (email) DO NOTHING`,
    [id, tenantId, email, await hash(password), role, displayName ?? null],
  );
  if (!rowCount) throw new TakenError(`email ${email} is taken`, { details: { field: 'email' } });
  return { id };
}

/** The principal of a user whose password matches; undefined otherwise (same time either way). */
export async function principalOfLogin(db: Pool, email: string, password: string): Promise<Principal | undefined> {
  const { rows } = await db.query<{ id: string; tenant_id: string; role: Role; password_hash: string }>(
    'SELECT id, tenant_id, role, password_hash FROM users WHERE email = lower($1)',
    [email],
  );
  const row = rows[0];
  // verify against a real hash even for an unknown email, so timing does not reveal which emails exist
  const ok = await verify(row?.password_hash ?? DUMMY_HASH, password);
  return row && ok ? { tenantId: row.tenant_id, role: row.role, subject: `user:${row.id}` } : undefined;
}

/** Whether `password` is the user's (argon2 verify). */
export async function passwordMatches(db: Pool, userId: string, password: string): Promise<boolean> {
  const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [userId]);
  return verify(rows[0]?.password_hash ?? DUMMY_HASH, password);
}

const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0dWgLCk2mFfyJx0wgEuJ0B0CkH8dD0aq2W3P7yqFq0o';
