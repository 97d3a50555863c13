/**
 * A tenant's SQL user as ClickHouse 18.16 knows users: a file in users.d next to the users.xml
 * infra writes (infra/services/clickhouse.ts), which the server merges into its users and reloads
 * within seconds of a change. 18.16 has no CREATE USER; the file holds the user (password as
 * sha256, the one database it may use) and its profile (readonly=1, the limits).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { confDir } from '../paths.ts';
import { namesOfUser, type SqlUserNames } from './names.ts';

export interface SqlUserLimits {
  /** Seconds a query may run before it is stopped. */
  maxExecutionTime: number;
  /** Bytes of memory one query may use. */
  maxMemoryUsage: number;
  /** Rows and bytes a result may have; a bigger one is an error, not a truncated answer. */
  maxResultRows: number;
  maxResultBytes: number;
  /** Queries the user may have running at once. */
  maxConcurrentQueries: number;
}

export const DEFAULT_LIMITS: SqlUserLimits = {
  maxExecutionTime: 60,
  maxMemoryUsage: 2_000_000_000,
  maxResultRows: 1_000_000,
  maxResultBytes: 500_000_000,
  maxConcurrentQueries: 4,
};

/** Each limit's ClickHouse setting. */
export const LIMIT_SETTINGS: Record<keyof SqlUserLimits, string> = {
  maxExecutionTime: 'max_execution_time',
  maxMemoryUsage: 'max_memory_usage',
  maxResultRows: 'max_result_rows',
  maxResultBytes: 'max_result_bytes',
  maxConcurrentQueries: 'max_concurrent_queries_for_user',
};

export const sha256Hex = (password: string) => createHash('sha256').update(password).digest('hex');

/**
 * The users.d file of one user. readonly=1 (not 2) because 18.16 has no setting constraints: a
 * user allowed to change settings could lift its own limits. readonly=1 also forbids table
 * functions (remote(), url(), file()), which would otherwise reach around allow_databases.
 *
 * @example
 * renderUsersFile(sqlUserNames('millrace', 'acme'), DEFAULT_LIMITS, sha256Hex(password));
 */
export function renderUsersFile(names: SqlUserNames, limits: SqlUserLimits, passwordSha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(passwordSha256)) throw new Error('passwordSha256 must be 64 lower-case hex digits');
  const settings = (Object.keys(LIMIT_SETTINGS) as (keyof SqlUserLimits)[]).map((key) => {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${key} must be a positive integer, got ${value}`);
    return `      <${LIMIT_SETTINGS[key]}>${value}</${LIMIT_SETTINGS[key]}>`;
  });
  return `<?xml version="1.0"?>
<!-- Written by \`millrace sql-users\`: tenant ${names.tenant}'s read-only SQL user. Edit with the command. -->
<yandex>
  <profiles>
    <${names.user}>
      <readonly>1</readonly>
${settings.join('\n')}
      <timeout_overflow_mode>throw</timeout_overflow_mode>
      <result_overflow_mode>throw</result_overflow_mode>
    </${names.user}>
  </profiles>
  <users>
    <${names.user}>
      <password_sha256_hex>${passwordSha256}</password_sha256_hex>
      <networks>
        <ip>::/0</ip>
      </networks>
      <profile>${names.user}</profile>
      <quota>default</quota>
      <allow_databases>
        <database>${names.database}</database>
      </allow_databases>
    </${names.user}>
  </users>
</yandex>
`;
}

/** The limits a file written by renderUsersFile holds. */
export function parseLimits(xml: string): SqlUserLimits {
  const entries = Object.entries(LIMIT_SETTINGS).map(([key, setting]) => {
    const match = new RegExp(`<${setting}>(\\d+)</${setting}>`).exec(xml);
    return [key, match ? Number(match[1]) : DEFAULT_LIMITS[key as keyof SqlUserLimits]];
  });
  return Object.fromEntries(entries) as SqlUserLimits;
}

export interface SqlUserFile extends SqlUserNames {
  file: string;
  limits: SqlUserLimits;
}

/** The users.d of the ClickHouse `millrace infra` runs. */
export const usersDir = (): string => path.join(confDir('clickhouse'), 'users.d');

const fileOf = (names: SqlUserNames) => path.join(usersDir(), `${names.user}.xml`);

/** Replaces the user's file in one rename, so the server never reads half of one. */
export function writeUsersFile(names: SqlUserNames, limits: SqlUserLimits, passwordSha256: string): string {
  const file = fileOf(names);
  fs.mkdirSync(usersDir(), { recursive: true });
  // not *.xml: the server must not merge the file before it is whole
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, renderUsersFile(names, limits, passwordSha256), { mode: 0o600 });
  fs.renameSync(partial, file);
  return file;
}

export function readUsersFile(names: SqlUserNames): SqlUserFile | undefined {
  const file = fileOf(names);
  if (!fs.existsSync(file)) return undefined;
  return { ...names, file, limits: parseLimits(fs.readFileSync(file, 'utf8')) };
}

/** The tenant users of database `main`, by tenant name. */
export function listUsersFiles(main: string): SqlUserFile[] {
  if (!fs.existsSync(usersDir())) return [];
  return fs
    .readdirSync(usersDir())
    .filter((f) => f.endsWith('.xml'))
    .flatMap((f) => {
      const names = namesOfUser(main, f.slice(0, -'.xml'.length));
      const found = names && readUsersFile(names);
      return found ? [found] : [];
    })
    .sort((a, b) => a.tenant.localeCompare(b.tenant));
}

/** False if the user had no file. */
export function removeUsersFile(names: SqlUserNames): boolean {
  const file = fileOf(names);
  if (!fs.existsSync(file)) return false;
  fs.rmSync(file);
  return true;
}
