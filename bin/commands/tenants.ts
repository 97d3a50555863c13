/**
 * `millrace tenants create <name>`: bootstrap a tenant without the API.
 * `millrace tenants invite <email>`: a sign-up invitation (SIGNUP_MODE=invite): its holder may
 * create one tenant at POST /v1/auth/signup with that email. The token is printed once.
 * `millrace tenants erase <name> [--yes]`: erase a tenant (domain/tenants/erasure.ts) and print the
 * report; without --yes it asks for the name again on a terminal, and refuses anywhere else.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { createTenant } from '../../api/auth/accounts.ts';
import { createInvitation } from '../../api/auth/invitations.ts';
import { loadCatalogue } from '../../core/catalogue.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { eraseTenant, type ErasureReport } from '../../domain/tenants/erasure.ts';
import { erasureLayout } from '../../domain/tenants/erasure-layout.ts';
import { flags } from './options.ts';
import { dropTenantSqlUser } from './sql-users.ts';

const USAGE = 'usage: millrace tenants create <name> | tenants invite <email> | tenants erase <name> [--yes]';

/** Whether the operator typed the tenant's name again; false off a terminal (they must pass --yes). */
async function confirmOnTerminal(tenant: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(
      `Erasing tenant "${tenant}" deletes its keys, rows, files and SQL user for good. Type its name to go on: `,
    );
    return answer.trim() === tenant;
  } finally {
    prompt.close();
  }
}

/** The report as lines a person reads: what went, then what the log keeps until retention. */
export function formatReport(r: ErasureReport): string {
  const counts = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([table, n]) => `${table} ${n}`)
      .join(', ') || 'none';
  const kept = r.remains_in_log.filter((t) => t.records > 0);
  return [
    `tenant ${r.tenant} erased at ${r.erased_at}; its name is free again from ${r.name_free_at}`,
    `keys revoked: ${r.keys_revoked}`,
    `postgres rows deleted: ${counts(r.postgres)}`,
    `clickhouse rows deleted: ${counts(r.clickhouse)}`,
    `sql user dropped: ${r.sql_user_dropped === null ? 'not managed here' : r.sql_user_dropped ? 'yes' : 'none'}`,
    `files removed: ${r.files_removed}`,
    `tombstones written: ${r.tombstones.map((t) => `${t.topic} ${t.written}`).join(', ') || 'no compacted topic'}`,
    kept.length === 0 ? 'remains in the log: nothing' : 'remains in the log until retention removes it:',
    ...kept.map(
      (t) =>
        `  ${t.topic}: ${t.complete ? '' : 'at least '}${t.records} records, gone after ${t.gone_after ?? 'its retention'}`,
    ),
  ].join('\n');
}

async function erase(tenant: string): Promise<number> {
  const config = loadConfig();
  const db = createPostgresPool(2);
  const clickhouse = createClickHouse();
  const kafka = createKafka('millrace-tenants-erase');
  const registry = new Registry();
  try {
    const report = await eraseTenant(
      {
        db,
        clickhouse,
        kafka,
        registry,
        ...erasureLayout(config, loadCatalogue()),
        dropSqlUser: dropTenantSqlUser,
      },
      tenant,
    );
    process.stdout.write(`${formatReport(report)}\n`);
    return 0;
  } finally {
    await Promise.all([db.end(), clickhouse.close()]);
  }
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: flags('boolean', 'yes') });
  const [action, name] = positionals;
  if (!name || positionals.length !== 2) throw new Error(USAGE);
  if (action === 'erase') {
    if (!values.yes && !(await confirmOnTerminal(name))) {
      throw new Error(
        process.stdin.isTTY
          ? `the name typed was not "${name}": nothing erased`
          : `erasing tenant "${name}" cannot be undone: pass --yes to confirm (no terminal to ask on)`,
      );
    }
    return erase(name);
  }
  if (action !== 'create' && action !== 'invite') throw new Error(USAGE);
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
