/**
 * The operator's hand on the registry (every tenant's models, the platform's to change):
 * `millrace models register <dir> [--description D] [--tenant T]`: store a manifest directory as a
 * version of a platform model, or of tenant T's (its id starts with "T.");
 * `millrace models activate <id> <version>`: switch the processors scoring with the model to it;
 * `millrace models list [<id>]`: the models, or one model's versions (* marks the active one).
 */
import { parseArgs } from 'node:util';
import { createPostgresPool } from '../../core/postgres.ts';
import { activateVersion, listModels, listVersions, registerVersion } from '../../models/model-registry.ts';
import { flags } from './options.ts';

const USAGE =
  'usage: millrace models register <dir> [--description D] [--tenant T] | models activate <id> <version> | models list [<id>]';
const OPERATOR = { operator: true } as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: flags('string', 'description', 'tenant'),
  });
  const [action, ...rest] = positionals;
  const db = createPostgresPool(1);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    if (action === 'register' && rest.length === 1) {
      const v = await registerVersion(db, rest[0]!, {
        ...(values.description === undefined ? {} : { description: values.description }),
        tenantId: values.tenant ?? null,
      });
      out(
        `${v.created ? 'registered' : 'already registered'} ${v.model_id} ${v.version} sha256 ${v.sha256}${v.active ? ' (active)' : ''}`,
      );
    } else if (action === 'activate' && rest.length === 2) {
      const v = await activateVersion(db, rest[0]!, rest[1]!);
      out(`activated ${v.model_id} ${v.version} (was ${v.previous_version ?? 'none'})`);
    } else if (action === 'list' && rest.length === 0) {
      for (const m of await listModels(db, OPERATOR))
        out(
          `${m.id}\t${m.tenant_id ?? 'platform'}\t${m.active_version ?? '-'}\t${m.versions} version(s)\t${m.description ?? ''}`,
        );
    } else if (action === 'list' && rest.length === 1) {
      for (const v of await listVersions(db, rest[0]!, OPERATOR))
        out(`${v.active ? '*' : ' '} ${v.version}\t${v.sha256}\t${v.created_at.toISOString()}`);
    } else {
      throw new Error(USAGE);
    }
    return 0;
  } finally {
    await db.end();
  }
}
