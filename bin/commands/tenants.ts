/**
 * `millrace tenants create <name>`: bootstrap a tenant without the API.
 * `millrace tenants invite <email>`: a sign-up invitation (SIGNUP_MODE=invite): its holder may
 * create one tenant at POST /v1/auth/signup with that email. The token is printed once.
 */
import { createPostgresPool } from '../../core/postgres.ts';
import { createTenant } from '../../api/auth/accounts.ts';
import { createInvitation } from '../../api/auth/invitations.ts';

const USAGE = 'usage: millrace tenants create <name> | millrace tenants invite <email>';

export async function run(args: string[]): Promise<number> {
  const [action, name] = args;
  if ((action !== 'create' && action !== 'invite') || !name) throw new Error(USAGE);
  const db = createPostgresPool(1);
  try {
    if (action === 'create') {
      process.stdout.write(`${(await createTenant(db, name)).id}\n`);
    } else {
      if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw new Error(`not an email address: "${name}"\n${USAGE}`);
      const { token } = await createInvitation(db, { tenantId: null, email: name, role: 'admin', invitedBy: 'cli' });
      process.stdout.write(`${token}\n`);
    }
    return 0;
  } finally {
    await db.end();
  }
}
