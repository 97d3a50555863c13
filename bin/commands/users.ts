/**
 * `millrace users create --tenant T --email E --role R < password`: a user who can log in at
 * POST /v1/auth/login. The password is read from stdin so it stays out of shell history.
 */
import { parseArgs } from 'node:util';
import { text } from 'node:stream/consumers';
import { createPostgresPool } from '../../core/postgres.ts';
import { assertRole, createUser } from '../../api/auth/accounts.ts';
import { flags } from './options.ts';

export async function run(args: string[]): Promise<number> {
  const options = flags('string', 'tenant', 'email', 'role');
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options });
  if (positionals[0] !== 'create' || !values.tenant || !values.email || !values.role) {
    throw new Error('usage: millrace users create --tenant <name> --email <email> --role <role> < password');
  }
  const password = (await text(process.stdin)).replace(/\r?\n$/, '');
  const db = createPostgresPool(1);
  try {
    const { id } = await createUser(db, values.tenant, values.email, password, assertRole(values.role));
    process.stdout.write(`${id}\n`);
    return 0;
  } finally {
    await db.end();
  }
}
