/**
 * What a tenant's SQL user is called: one ClickHouse user and one database, both named
 * `<main database>_tenant_<tenant>`, so two setups sharing a server never meet and the names say
 * whose they are. Tenant names follow the tenants table's rule; nothing else reaches the SQL or XML.
 */
import { errorKind } from '../../core/errors.ts';

export class SqlUserError extends errorKind('SqlUserError', { code: 'sql_user' }) {}

/** The tenants table's rule for a name (api/auth/accounts.ts). */
const TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** What may stand between back quotes here: a tenant-derived name or a whitelisted table. */
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export interface SqlUserNames {
  tenant: string;
  /** The ClickHouse user, and the name of its settings profile. */
  user: string;
  /** The only database the user may read: the tenant's copies of the fact tables. */
  database: string;
}

const prefix = (main: string) => `${main}_tenant_`;

/**
 * @example
 * sqlUserNames('millrace', 'acme'); // { tenant: 'acme', user: 'millrace_tenant_acme', database: 'millrace_tenant_acme' }
 */
export function sqlUserNames(main: string, tenant: string): SqlUserNames {
  if (!TENANT_NAME.test(tenant)) {
    throw new SqlUserError(`tenant name must be 1-63 lower-case letters, digits, '-' or '_'; got "${tenant}"`);
  }
  const name = prefix(main) + tenant;
  quoteName(name);
  return { tenant, user: name, database: name };
}

/** The names of the user called `user`, if it is one of `main`'s tenant users. */
export function namesOfUser(main: string, user: string): SqlUserNames | undefined {
  if (!user.startsWith(prefix(main))) return undefined;
  const tenant = user.slice(prefix(main).length);
  return TENANT_NAME.test(tenant) ? sqlUserNames(main, tenant) : undefined;
}

/** A database or table name, back-quoted; refused unless it is made of the characters names here use. */
export function quoteName(name: string): string {
  if (!NAME.test(name)) throw new SqlUserError(`"${name}" is not a name sql-users may use`);
  return `\`${name}\``;
}
