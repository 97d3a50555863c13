/**
 * Accounts against the real Postgres, in process: sign-up in each SIGNUP_MODE, invitations,
 * profile, password change, logout, sessions and members. What must hold at once: a removed
 * member's access token is refused at its next request, a logged-out refresh token is refused,
 * a password change ends the user's other sessions, a tenant keeps an admin, and another tenant's
 * ids are unknown in the same words as made-up ones. Also walks the sign-up abuse cases of the
 * hostile corpus (test/fixtures/hostile/signup.jsonl).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createInvitation } from '../../api/auth/invitations.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { testApi, type TestApi } from '../../testkit/training-helpers.ts';
import { casesOf, loadCorpus } from './hostile-corpus.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const log = createLogger('test');
const deps = { db, clickhouse, kafka: createKafka('millrace-test'), registry: new Registry(), log };
const run = randomBytes(4).toString('hex');
const PASSWORD = 'mill race by the weir 42';

interface Account {
  tenant_id: string;
  user_id: string;
  access_token: string;
  refresh_token: string;
}
interface ErrorAnswer {
  error: string;
  message: string;
  field?: string;
}

let open: TestApi;
let invite: TestApi;
let closed: TestApi;
const withMode = (mode: Config['SIGNUP_MODE'], perIp = 1000): Config => ({
  ...loadConfig(),
  SIGNUP_MODE: mode,
  SIGNUP_RATE_LIMIT_PER_IP: perIp,
});

before(async () => {
  [open, invite, closed] = await Promise.all([
    testApi(deps, 'acc-open', withMode('open')),
    testApi(deps, 'acc-invite', withMode('invite')),
    testApi(deps, 'acc-closed', withMode('closed')),
  ]);
});
after(async () => {
  await Promise.all([open.close(), invite.close(), closed.close()]);
  await Promise.all([db.end(), clickhouse.close()]);
});

/** A request without credentials in the header (the auth routes take them in the body). */
const post = (api: TestApi, url: string, body: unknown) => api.call(url, '', { method: 'POST', body });

async function signUp(label: string): Promise<Account & { email: string }> {
  const email = `${label}-${run}@example.com`;
  const response = await post(open, '/v1/auth/signup', { tenant: `${label}-${run}`, email, password: PASSWORD });
  assert.equal(response.status, 201, await response.clone().text());
  return { ...((await response.json()) as Account), email };
}

async function login(email: string, password = PASSWORD): Promise<Account> {
  const response = await post(open, '/v1/auth/login', { email, password });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as Account;
}

/** Invites `email` into the admin's tenant with `role` and accepts it; the new member's first session. */
async function member(admin: Account, label: string, role: string): Promise<Account & { email: string }> {
  const email = `${label}-${run}@example.com`;
  const invited = await open.call('/v1/invitations', admin.access_token, { body: { email, role } });
  assert.equal(invited.status, 201, await invited.clone().text());
  const { token } = (await invited.json()) as { token: string };
  const accepted = await post(open, '/v1/auth/accept-invitation', { token, password: PASSWORD });
  assert.equal(accepted.status, 201, await accepted.clone().text());
  return { ...((await accepted.json()) as Account), email };
}

const status = async (response: Promise<Response>) => (await response).status;

describe('sign-up', () => {
  it('open: creates the tenant and its first admin, signed in; the password logs in', async () => {
    const account = await signUp('acme');
    assert.equal(account.tenant_id, `acme-${run}`);
    const me = (await (await open.call('/v1/me', account.access_token)).json()) as { tenant_id: string; role: string };
    assert.deepEqual([me.tenant_id, me.role], [`acme-${run}`, 'admin']);
    const members = (await (await open.call('/v1/members', account.access_token)).json()) as {
      members: { id: string; email: string; role: string }[];
    };
    assert.deepEqual(
      members.members.map((m) => [m.id, m.email, m.role]),
      [[account.user_id, account.email, 'admin']],
    );
    const again = await login(account.email);
    assert.equal(((await (await open.call('/v1/me', again.access_token)).json()) as { role: string }).role, 'admin');
  });

  it('invite: a sign-up invitation from the operator creates one tenant, for its email, once', async () => {
    const email = `invited-${run}@example.com`;
    const { token } = await createInvitation(db, { tenantId: null, email, role: 'admin', invitedBy: 'cli' });
    const body = { tenant: `inv-${run}`, email, password: PASSWORD, invitation: token };
    const created = await post(invite, '/v1/auth/signup', body);
    assert.equal(created.status, 201, await created.clone().text());
    const again = await post(invite, '/v1/auth/signup', { ...body, tenant: `inv2-${run}` });
    assert.equal(again.status, 400);
    assert.match(((await again.json()) as ErrorAnswer).message, /already used/);
  });

  it('closed: 403 whatever the request holds', async () => {
    const response = await post(closed, '/v1/auth/signup', {
      tenant: `shut-${run}`,
      email: `shut-${run}@example.com`,
      password: PASSWORD,
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as ErrorAnswer).error, 'signup_closed');
    assert.equal((await db.query('SELECT 1 FROM tenants WHERE id = $1', [`shut-${run}`])).rowCount, 0);
  });

  it('is limited per client IP (SIGNUP_RATE_LIMIT_PER_IP), refusals included', async () => {
    const limited = await testApi(deps, 'acc-limit', withMode('open', 2));
    try {
      const attempt = (i: number) =>
        status(
          post(limited, '/v1/auth/signup', {
            tenant: `lim${i}-${run}`,
            email: `lim${i}-${run}@example.com`,
            password: 'short',
          }),
        );
      assert.deepEqual([await attempt(1), await attempt(2), await attempt(3)], [400, 400, 429]);
    } finally {
      await limited.close();
    }
  });

  describe('hostile corpus: sign-up abuse', () => {
    const tokens: Record<string, string> = {};
    before(async () => {
      const taken = await signUp('taken');
      const invitation = async (tenantId: string | null, label: string, state?: 'used' | 'expired') => {
        const { id, token } = await createInvitation(db, {
          tenantId,
          email: `${label}-${run}@example.com`,
          role: tenantId ? 'reader' : 'admin',
          invitedBy: 'test',
        });
        if (state === 'used') await db.query('UPDATE invitations SET accepted_at = now() WHERE id = $1', [id]);
        if (state === 'expired')
          await db.query("UPDATE invitations SET expires_at = now() - interval '1 day' WHERE id = $1", [id]);
        return token;
      };
      Object.assign(tokens, {
        $run: run,
        $taken_tenant: taken.tenant_id,
        $taken_email: taken.email,
        $taken_user: taken.user_id,
        $taken_email_upper: taken.email.toUpperCase(),
        $huge_password: 'p'.repeat(4000) + 'q'.repeat(1000),
        $signup_invitation: await invitation(null, 'invited-corpus'),
        $used_signup_invitation: await invitation(null, 'used', 'used'),
        $expired_signup_invitation: await invitation(null, 'expired', 'expired'),
        $tenant_invitation: await invitation(taken.tenant_id, 'member'),
        $used_tenant_invitation: await invitation(taken.tenant_id, 'member-used', 'used'),
        $expired_tenant_invitation: await invitation(taken.tenant_id, 'member-expired', 'expired'),
      });
    });

    const cases = casesOf(loadCorpus(), 'signup');
    it(`${cases.length} cases: each gets its expected answer`, async () => {
      assert.ok(cases.length >= 20);
      const apps = { open: () => open, invite: () => invite, closed: () => closed };
      const problems: string[] = [];
      for (const c of cases) {
        const json = JSON.parse(
          JSON.stringify(c.json).replace(/\$[a-z_]+/g, (name) => tokens[name] ?? name),
        ) as unknown;
        const response = await post(apps[c.mode](), c.path, json);
        const text = await response.text();
        const body = (response.status >= 400 ? JSON.parse(text) : {}) as Partial<ErrorAnswer>;
        const { expect } = c;
        if (response.status !== expect.status)
          problems.push(`${c.id}: ${response.status}, expected ${expect.status}: ${text.slice(0, 200)}`);
        else if (expect.error !== undefined && body.error !== expect.error)
          problems.push(`${c.id}: error ${body.error}`);
        else if (expect.field !== undefined && body.field !== expect.field)
          problems.push(`${c.id}: field ${body.field}`);
        else if (expect.message !== undefined && !body.message?.includes(expect.message))
          problems.push(`${c.id}: message ${body.message}`);
        // a taken name or email is only "taken": never who has it (the owner's id, or email for a taken name)
        const owner =
          c.id === 'signup-taken-tenant' ? [tokens.$taken_user!, tokens.$taken_email!] : [tokens.$taken_user!];
        if (c.id.startsWith('signup-taken') && owner.some((detail) => text.includes(detail)))
          problems.push(`${c.id} tells about the other account: ${text}`);
      }
      assert.deepEqual(problems, []);
      // a refusal used no invitation: the tenant's invitation still works
      const accepted = await post(closed, '/v1/auth/accept-invitation', {
        token: tokens.$tenant_invitation,
        password: PASSWORD,
      });
      assert.equal(accepted.status, 201);
    });
  });
});

describe('invitations', () => {
  it('an admin invites with a role; the token is shown once, works once, and can be withdrawn', async () => {
    const admin = await signUp('invites');
    const other = await signUp('invites-other');
    const reader = await member(admin, 'invited-reader', 'reader');
    assert.equal(((await (await open.call('/v1/me', reader.access_token)).json()) as { role: string }).role, 'reader');
    assert.equal(
      await status(
        open.call('/v1/invitations', reader.access_token, { body: { email: `x-${run}@example.com`, role: 'reader' } }),
      ),
      403,
    );
    assert.equal(
      await status(
        open.call('/v1/invitations', admin.access_token, { body: { email: `x-${run}@example.com`, role: 'operator' } }),
      ),
      400,
    );
    assert.equal(
      await status(
        open.call('/v1/invitations', admin.access_token, { body: { email: reader.email, role: 'analyst' } }),
      ),
      409,
      'already a member',
    );

    const created = await open.call('/v1/invitations', admin.access_token, {
      body: { email: `pending-${run}@example.com`, role: 'analyst' },
    });
    const { id, token, expires_at } = (await created.json()) as { id: string; token: string; expires_at: string };
    const days = (Date.parse(expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `expires in ${days} days`);
    const listed = await (await open.call('/v1/invitations', admin.access_token)).text();
    assert.ok(listed.includes(id) && !listed.includes(token), 'listed by id, never with its token');
    const stored = await db.query(
      "SELECT 1 FROM invitations WHERE id = $1 AND row_to_json(invitations)::text LIKE '%' || $2 || '%'",
      [id, token.slice(4)],
    );
    assert.equal(stored.rowCount, 0, 'the token is stored only as its hash');

    const foreign = await open.call(`/v1/invitations/${id}`, other.access_token, { method: 'DELETE' });
    const unknown = await open.call('/v1/invitations/nope', other.access_token, { method: 'DELETE' });
    assert.deepEqual([foreign.status, unknown.status], [404, 404]);
    const words = (r: ErrorAnswer, ref: string) => r.message.replace(ref, '<id>');
    assert.equal(
      words((await foreign.json()) as ErrorAnswer, id),
      words((await unknown.json()) as ErrorAnswer, 'nope'),
    );

    assert.equal(await status(open.call(`/v1/invitations/${id}`, admin.access_token, { method: 'DELETE' })), 204);
    const withdrawn = await post(open, '/v1/auth/accept-invitation', { token, password: PASSWORD });
    assert.equal(withdrawn.status, 400);
    assert.match(((await withdrawn.json()) as ErrorAnswer).message, /unknown/);
  });
});

describe('members', () => {
  it("roles change at the member's next request; the last admin stays; a removed member's tokens stop at once", async () => {
    const admin = await signUp('members');
    const other = await signUp('members-other');
    const analyst = await member(admin, 'member-analyst', 'analyst');
    const role = async (token: string) => ((await (await open.call('/v1/me', token)).json()) as { role: string }).role;

    const changed = await open.call(`/v1/members/${analyst.user_id}`, admin.access_token, {
      method: 'PUT',
      body: { role: 'producer' },
    });
    assert.equal(changed.status, 200);
    assert.equal(await role(analyst.access_token), 'producer', 'the same access token has the new role');
    assert.equal(
      await status(
        open.call(`/v1/members/${analyst.user_id}`, analyst.access_token, { method: 'PUT', body: { role: 'admin' } }),
      ),
      403,
    );

    const demote = await open.call(`/v1/members/${admin.user_id}`, admin.access_token, {
      method: 'PUT',
      body: { role: 'reader' },
    });
    assert.equal(demote.status, 409);
    assert.equal(((await demote.json()) as ErrorAnswer).error, 'last_admin');
    assert.equal(
      await status(open.call(`/v1/members/${admin.user_id}`, admin.access_token, { method: 'DELETE' })),
      409,
    );
    // with a second admin, the first may step down
    assert.equal(
      await status(
        open.call(`/v1/members/${analyst.user_id}`, admin.access_token, { method: 'PUT', body: { role: 'admin' } }),
      ),
      200,
    );
    assert.equal(
      await status(
        open.call(`/v1/members/${admin.user_id}`, analyst.access_token, { method: 'PUT', body: { role: 'reader' } }),
      ),
      200,
    );
    assert.equal(await role(admin.access_token), 'reader');
    assert.equal(
      await status(open.call(`/v1/members/${analyst.user_id}`, analyst.access_token, { method: 'DELETE' })),
      409,
      'now the last admin',
    );

    // another tenant's member: the words of a made-up id
    const foreign = await open.call(`/v1/members/${analyst.user_id}`, other.access_token, { method: 'DELETE' });
    const unknown = await open.call('/v1/members/nope', other.access_token, { method: 'DELETE' });
    assert.deepEqual([foreign.status, unknown.status], [404, 404]);
    assert.equal(
      ((await foreign.json()) as ErrorAnswer).message.replace(analyst.user_id, '<id>'),
      ((await unknown.json()) as ErrorAnswer).message.replace('nope', '<id>'),
    );
    const listed = await (await open.call('/v1/members', other.access_token)).text();
    assert.ok(
      !listed.includes(analyst.email) && !listed.includes(admin.email),
      "another tenant's members are not listed",
    );

    // removed: the access token in hand is refused at its very next request, and so is everything else
    const removedMember = await member(analyst, 'member-removed', 'reader');
    assert.equal(await status(open.call('/v1/topics', removedMember.access_token)), 200);
    assert.equal(
      await status(open.call(`/v1/members/${removedMember.user_id}`, analyst.access_token, { method: 'DELETE' })),
      204,
    );
    const refused = await open.call('/v1/topics', removedMember.access_token);
    assert.equal(refused.status, 401);
    assert.match(((await refused.json()) as ErrorAnswer).message, /session has ended/);
    assert.equal(await status(post(open, '/v1/auth/refresh', { refresh_token: removedMember.refresh_token })), 401);
    assert.equal(await status(post(open, '/v1/auth/login', { email: removedMember.email, password: PASSWORD })), 401);
    assert.equal((await db.query('SELECT 1 FROM sessions WHERE user_id = $1', [removedMember.user_id])).rowCount, 0);
  });
});

describe('sessions', () => {
  it('logout ends the session: its refresh and access tokens are refused', async () => {
    const account = await signUp('logout');
    assert.equal(await status(post(open, '/v1/auth/logout', { refresh_token: account.refresh_token })), 204);
    assert.equal(await status(post(open, '/v1/auth/refresh', { refresh_token: account.refresh_token })), 401);
    assert.equal(await status(open.call('/v1/me', account.access_token)), 401);
    assert.equal(await status(post(open, '/v1/auth/logout', { refresh_token: account.refresh_token })), 401);
    assert.equal(await status(post(open, '/v1/auth/logout', { refresh_token: account.access_token })), 401);
  });

  it('a refresh token works once; presenting a used one again ends the session', async () => {
    const account = await signUp('rotate');
    const refreshed = await post(open, '/v1/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(refreshed.status, 200);
    const next = (await refreshed.json()) as Account;
    assert.equal(await status(open.call('/v1/me', next.access_token)), 200);
    const replay = await post(open, '/v1/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(replay.status, 401);
    assert.match(((await replay.json()) as ErrorAnswer).message, /already used/);
    assert.equal(
      await status(post(open, '/v1/auth/refresh', { refresh_token: next.refresh_token })),
      401,
      'the session is revoked',
    );
    assert.equal(await status(open.call('/v1/me', next.access_token)), 401);
  });

  it("an admin lists and ends the tenant's sessions; a member only their own; another tenant's are unknown", async () => {
    const admin = await signUp('sessions');
    const other = await signUp('sessions-other');
    const reader = await member(admin, 'sessions-reader', 'reader');
    const second = await login(reader.email);
    type Listed = { sessions: { id: string; user_id: string; current: boolean }[] };
    const own = (await (await open.call('/v1/sessions', reader.access_token)).json()) as Listed;
    assert.equal(own.sessions.length, 2);
    assert.ok(own.sessions.every((s) => s.user_id === reader.user_id));
    assert.equal(own.sessions.filter((s) => s.current).length, 1);
    const all = (await (await open.call('/v1/sessions', admin.access_token)).json()) as Listed;
    assert.deepEqual(new Set(all.sessions.map((s) => s.user_id)), new Set([admin.user_id, reader.user_id]));
    const adminSession = all.sessions.find((s) => s.user_id === admin.user_id)!.id;
    assert.equal(
      await status(open.call(`/v1/sessions/${adminSession}`, reader.access_token, { method: 'DELETE' })),
      404,
      "not the reader's",
    );
    const otherList = await (await open.call('/v1/sessions', other.access_token)).text();
    assert.ok(!own.sessions.some((s) => otherList.includes(s.id)));
    const secondId = own.sessions.find((s) => !s.current)!.id;
    const foreign = await open.call(`/v1/sessions/${secondId}`, other.access_token, { method: 'DELETE' });
    const unknown = await open.call('/v1/sessions/nope', other.access_token, { method: 'DELETE' });
    assert.deepEqual([foreign.status, unknown.status], [404, 404]);
    assert.equal(
      ((await foreign.json()) as ErrorAnswer).message.replace(secondId, '<id>'),
      ((await unknown.json()) as ErrorAnswer).message.replace('nope', '<id>'),
    );
    assert.equal(await status(open.call('/v1/me', second.access_token)), 200);
    assert.equal(await status(open.call(`/v1/sessions/${secondId}`, admin.access_token, { method: 'DELETE' })), 204);
    assert.equal(await status(open.call('/v1/me', second.access_token)), 401);
    assert.equal(await status(post(open, '/v1/auth/refresh', { refresh_token: second.refresh_token })), 401);
    assert.equal(await status(open.call('/v1/me', reader.access_token)), 200, 'the other session goes on');
    const keyed = (await (await open.call('/v1/sessions', open.keys.reader)).json()) as Listed;
    assert.deepEqual(keyed.sessions, [], 'an API key has no sessions');
  });
});

describe('profile and password', () => {
  it('the profile shows and changes the display name, and the email with the password', async () => {
    const account = await signUp('profile');
    const rival = await signUp('profile-rival');
    const profile = (await (await open.call('/v1/me/profile', account.access_token)).json()) as Record<string, unknown>;
    assert.deepEqual(
      [profile.email, profile.display_name, profile.role, profile.tenant_id],
      [account.email, null, 'admin', account.tenant_id],
    );
    const named = await open.call('/v1/me/profile', account.access_token, {
      method: 'PUT',
      body: { display_name: '  Ana Lyst ' },
    });
    assert.equal(((await named.json()) as { display_name: string }).display_name, 'Ana Lyst');
    const email = `moved-${run}@example.com`;
    const unconfirmed = await open.call('/v1/me/profile', account.access_token, { method: 'PUT', body: { email } });
    assert.equal(unconfirmed.status, 400);
    assert.equal(((await unconfirmed.json()) as ErrorAnswer).field, 'password');
    assert.equal(
      await status(
        open.call('/v1/me/profile', account.access_token, {
          method: 'PUT',
          body: { email, password: 'not the password' },
        }),
      ),
      403,
    );
    assert.equal(
      await status(
        open.call('/v1/me/profile', account.access_token, {
          method: 'PUT',
          body: { email: rival.email, password: PASSWORD },
        }),
      ),
      409,
    );
    const moved = await open.call('/v1/me/profile', account.access_token, {
      method: 'PUT',
      body: { email: email.toUpperCase(), password: PASSWORD },
    });
    assert.equal(moved.status, 200);
    assert.equal(((await moved.json()) as { email: string }).email, email);
    await login(email);
    assert.equal(await status(post(open, '/v1/auth/login', { email: account.email, password: PASSWORD })), 401);
    assert.equal(await status(open.call('/v1/me/profile', open.keys.admin)), 403, 'an API key has no profile');
  });

  it('a password change checks the current one and the policy, and ends every other session', async () => {
    const account = await signUp('password');
    const elsewhere = await login(account.email);
    const change = (current: string, next: string) =>
      open.call('/v1/me/password', account.access_token, { body: { current, new: next } });
    assert.equal(await status(change('not the password', 'another long passphrase')), 403);
    const weak = await change(PASSWORD, 'password1234');
    assert.equal(weak.status, 400);
    assert.equal(((await weak.json()) as ErrorAnswer).field, 'new');
    assert.equal(await status(change(PASSWORD, PASSWORD)), 400);
    const changed = await change(PASSWORD, 'another long passphrase');
    assert.equal(changed.status, 200);
    assert.deepEqual(await changed.json(), { sessions_revoked: 1 });
    assert.equal(await status(open.call('/v1/me', elsewhere.access_token)), 401);
    assert.equal(await status(post(open, '/v1/auth/refresh', { refresh_token: elsewhere.refresh_token })), 401);
    assert.equal(await status(open.call('/v1/me', account.access_token)), 200, 'this session goes on');
    assert.equal(await status(post(open, '/v1/auth/login', { email: account.email, password: PASSWORD })), 401);
    await login(account.email, 'another long passphrase');
  });
});
