/**
 * Creating an account over HTTP: sign-up (a new tenant and its first admin) as SIGNUP_MODE allows,
 * and accepting an invitation into a tenant. Both answer with the tokens of a first session.
 *
 * A taken tenant name or email is a 409 that says only "taken": names are chosen by people, so the
 * answer to "may I have this one" cannot help saying whether someone has it. Nothing else of the
 * other tenant or account is told, and the per-IP limit on these routes (SIGNUP_RATE_LIMIT_PER_IP)
 * keeps such probing slow.
 */
import { errorKind } from '../../core/errors.ts';
import { inTransaction, type Pool } from '../../core/postgres.ts';
import { AuthStoreError, createTenant, createUser, tenantNameProblem } from './accounts.ts';
import { assertInvitedEmail, useInvitation } from './invitations.ts';
import { passwordProblem } from './password-policy.ts';
import { openSession } from './sessions.ts';
import type { TokenPair, Tokens } from './tokens.ts';

export const SIGNUP_MODES = ['open', 'invite', 'closed'] as const;
export type SignupMode = (typeof SIGNUP_MODES)[number];

export class SignupClosedError extends errorKind('SignupClosedError', { code: 'signup_closed', status: 403 }) {}

/** Names a tenant may not take by signing up: they read as the platform's own. */
const RESERVED_TENANTS = new Set([
  'admin',
  'api',
  'default',
  'millrace',
  'operator',
  'platform',
  'root',
  'system',
  'www',
]);

export interface SignupRequest {
  tenant: string;
  email: string;
  password: string;
  display_name?: string;
  /** a sign-up invitation's token: needed when the mode is `invite` */
  invitation?: string;
}

/** Checks what can be checked without the database, so a bad request costs no hashing. */
function assertSignupInput(request: SignupRequest): void {
  const nameProblem =
    tenantNameProblem(request.tenant) ??
    (RESERVED_TENANTS.has(request.tenant) ? `tenant name "${request.tenant}" is reserved` : undefined);
  if (nameProblem) throw new AuthStoreError(nameProblem, { details: { field: 'tenant' } });
  const problem = passwordProblem(request.password, request.email);
  if (problem) throw new AuthStoreError(problem, { details: { field: 'password' } });
}

/**
 * A new tenant with the caller as its first admin, and a session for them.
 *
 * @example
 * ```ts
 * const { tenant_id, tokens } = await signUp(db, tokens, 'open', { tenant: 'acme', email, password });
 * ```
 */
export async function signUp(
  db: Pool,
  tokens: Tokens,
  mode: SignupMode,
  request: SignupRequest,
  userAgent?: string,
): Promise<{ tenant_id: string; user_id: string } & TokenPair> {
  if (mode === 'closed')
    throw new SignupClosedError('sign-up is closed on this platform: ask its operator for a tenant or an invitation');
  if (mode === 'invite' && request.invitation === undefined)
    throw new SignupClosedError('sign-up needs an invitation on this platform: send its token as "invitation"', {
      details: { field: 'invitation' },
    });
  assertSignupInput(request);
  return inTransaction(db, async (client) => {
    if (mode === 'invite') {
      const invited = await useInvitation(client, request.invitation!, 'signup');
      assertInvitedEmail(invited.email, request.email);
    }
    const tenant = await createTenant(client, request.tenant);
    const { id } = await createUser(client, tenant.id, request.email, request.password, 'admin', request.display_name);
    const pair = await openSession(client, tokens, { userId: id, tenantId: tenant.id, role: 'admin' }, userAgent);
    return { tenant_id: tenant.id, user_id: id, ...pair };
  });
}

/**
 * The account an invitation grants: a user of its tenant with its role and email, and a session.
 *
 * @example
 * ```ts
 * const answer = await acceptInvitation(db, tokens, { token, password: 'a long passphrase' });
 * ```
 */
export async function acceptInvitation(
  db: Pool,
  tokens: Tokens,
  request: { token: string; password: string; display_name?: string },
  userAgent?: string,
): Promise<{ tenant_id: string; user_id: string } & TokenPair> {
  return inTransaction(db, async (client) => {
    const invited = await useInvitation(client, request.token, 'tenant');
    const tenantId = invited.tenantId!;
    const { id } = await createUser(
      client,
      tenantId,
      invited.email,
      request.password,
      invited.role,
      request.display_name,
    );
    const pair = await openSession(client, tokens, { userId: id, tenantId, role: invited.role }, userAgent);
    return { tenant_id: tenantId, user_id: id, ...pair };
  });
}
