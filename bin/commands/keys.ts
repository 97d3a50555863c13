/**
 * `millrace keys create --tenant <name> --role <role> [--label L]`: prints the new API key alone
 * on a line on stdout (the only time it is shown); `millrace keys revoke --tenant <name> <id>`.
 */
import { parseArgs } from 'node:util';
import { createPostgresPool } from '../../core/postgres.ts';
import { assertRole, createKey, revokeKey } from '../../api/auth/accounts.ts';
import { flags } from './options.ts';

export async function run(args: string[]): Promise<number> {
  const options = flags('string', 'tenant', 'role', 'label');
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options });
  const [action, id] = positionals;
  if (
    !values.tenant ||
    (action === 'create' && !values.role) ||
    (action === 'revoke' && !id) ||
    (action !== 'create' && action !== 'revoke')
  ) {
    throw new Error(
      'usage: millrace keys create --tenant <name> --role <admin|analyst|producer|reader|operator> [--label L] | keys revoke --tenant <name> <id>',
    );
  }
  const db = createPostgresPool(1);
  try {
    if (action === 'create') {
      const { key } = await createKey(db, values.tenant, assertRole(values.role!), values.label);
      process.stdout.write(`${key}\n`);
      return 0;
    }
    if (!(await revokeKey(db, values.tenant, id!))) throw new Error(`tenant "${values.tenant}" has no key "${id}"`);
    return 0;
  } finally {
    await db.end();
  }
}
