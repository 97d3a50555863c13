/** `millrace tenants create <name>`: bootstrap a tenant without the API. */
import { createPostgresPool } from '../../core/postgres.ts';
import { createTenant } from '../../api/auth/accounts.ts';

export async function run(args: string[]): Promise<number> {
  const [action, name] = args;
  if (action !== 'create' || !name) throw new Error('usage: millrace tenants create <name>');
  const db = createPostgresPool(1);
  try {
    const tenant = await createTenant(db, name);
    process.stdout.write(`${tenant.id}\n`);
    return 0;
  } finally {
    await db.end();
  }
}
