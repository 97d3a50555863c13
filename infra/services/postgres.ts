/**
 * Postgres is the machine's own cluster, not a process of ours: `up` starts it only if it is down
 * and creates the database named in POSTGRES_URL; `down` never stops it.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../core/config.ts';
import { aptInstall, asRoot } from '../apt.ts';
import { log } from '../log.ts';
import { portInUse } from '../probe.ts';
import { run, waitUntil } from '../process.ts';
import { type Service, ServiceError } from '../service.ts';

const url = new URL(loadConfig().POSTGRES_URL);
const database = decodeURIComponent(url.pathname.slice(1));
const host = url.hostname || 'localhost';
const port = Number(url.port || 5432);
const maintenanceUrl = Object.assign(new URL(url.href), { pathname: '/postgres' }).href;
const isLocal = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);

/** The installed major version, from Debian's /etc/postgresql/<version>/<cluster> layout. */
function clusterVersion(): string | undefined {
  try {
    return fs.readdirSync('/etc/postgresql').sort((a, b) => Number(b) - Number(a))[0];
  } catch {
    return undefined;
  }
}

/** Debian's log of the main cluster (its folder until a cluster is installed). */
function logFile(): string {
  const version = clusterVersion();
  return version === undefined ? '/var/log/postgresql' : `/var/log/postgresql/postgresql-${version}-main.log`;
}

/** Runs `fn` on a fresh connection; undefined if it cannot connect or the query fails. */
async function query<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T | undefined> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const selectOne = (connectionString: string) =>
  query(connectionString, async (c) => (await c.query('SELECT 1')).rowCount === 1).then((ok) => ok === true);

async function createDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      log.info({ service: 'postgres', database }, 'creating database');
      await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    }
  } finally {
    await client.end();
  }
}

export const postgres: Service = {
  name: 'postgres',
  ports: [port],
  get logFile() {
    return logFile();
  },
  owned: false,
  isInstalled: async () => clusterVersion() !== undefined || (await selectOne(maintenanceUrl)),

  async install() {
    log.info({ service: 'postgres' }, 'installing postgresql (apt-get)');
    await aptInstall(['postgresql']);
  },

  health: () => selectOne(url.href),

  async start() {
    const fail = (problem: string) => new ServiceError('postgres', problem, logFile());
    let started = false;
    if (!(await selectOne(maintenanceUrl))) {
      const version = clusterVersion();
      if (!isLocal || version === undefined) {
        throw fail(`nothing answers at ${host}:${port}, and it is not a local cluster infra can start`);
      }
      if (await portInUse(host, port)) {
        throw fail(`port ${port} is held by something that does not answer as Postgres`);
      }
      log.info({ service: 'postgres', cluster: `${version}/main` }, 'starting the machine cluster (pg_ctlcluster)');
      try {
        await run(asRoot('pg_ctlcluster', '--skip-systemctl-redirect', version, 'main', 'start'));
        await waitUntil(() => selectOne(maintenanceUrl), { timeoutMs: loadConfig().INFRA_START_TIMEOUT_MS });
      } catch (err) {
        throw fail((err as Error).message);
      }
      started = true;
    }
    await createDatabase().catch((err: Error) => {
      throw fail(`cannot create database ${database}: ${err.message}`);
    });
    return started;
  },

  async stop() {
    throw new Error('postgres belongs to the machine; infra never stops it');
  },

  // postmaster.pid's first line is the server pid; reading the data directory needs a superuser.
  pid: () =>
    query(url.href, async (c) => {
      const dir = (await c.query<{ data_directory: string }>('SHOW data_directory')).rows[0]?.data_directory;
      if (dir === undefined) return undefined;
      return Number.parseInt(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8'), 10);
    }),

  version: () =>
    query(url.href, async (c) => {
      const rows = (await c.query<{ server_version: string }>('SHOW server_version')).rows;
      return rows[0]?.server_version;
    }),
};
