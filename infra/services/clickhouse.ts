/**
 * ClickHouse from the Debian package (18.16), run as our own process with a generated config:
 * never the system service, so data and logs stay under MILLRACE_HOME. The default setup runs one
 * server; the cluster (infra/cluster.ts) runs two replicas of one shard coordinated by ZooKeeper.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hostAndPort, loadConfig } from '../../core/config.ts';
import { aptInstall, asRoot } from '../apt.ts';
import { log } from '../log.ts';
import { processService } from '../managed.ts';
import type { Service, ServiceName } from '../service.ts';
import { confDir, dataDir, logFile } from '../paths.ts';
import { httpGet } from '../probe.ts';
import { run } from '../process.ts';

const SERVER = '/usr/sbin/clickhouse-server';

/** One replica of a replicated setup: ZooKeeper, its macros, and the cluster it belongs to. */
export interface ReplicaSpec {
  /** the `{replica}` macro; the shard is always 1 */
  replica: string;
  interserverPort: number;
  zookeeper: { host: string; port: number };
  /** every replica of the shard, as `host:tcpPort`, for the `millrace` cluster of remote_servers */
  replicas: string[];
}

export interface ClickHouseSpec {
  name: ServiceName;
  host: string;
  httpPort: number;
  tcpPort: number;
  replicated?: ReplicaSpec;
  /** networks besides loopback the default user may connect from (the test hosts', infra/hosts.ts) */
  networks?: readonly string[];
}

/** The parts of config.xml a replica adds (18.16 opens an interserver port only when the tag is present). */
export function replicaConfigXml(spec: ReplicaSpec, host: string): string {
  const replicas = spec.replicas
    .map((r) => {
      const [rHost, rPort] = r.split(':');
      return `<replica><host>${rHost}</host><port>${rPort}</port></replica>`;
    })
    .join('');
  return `
  <interserver_http_port>${spec.interserverPort}</interserver_http_port>
  <interserver_http_host>${host}</interserver_http_host>
  <zookeeper><node><host>${spec.zookeeper.host}</host><port>${spec.zookeeper.port}</port></node><session_timeout_ms>10000</session_timeout_ms></zookeeper>
  <!-- replicated tables read-only after a ZooKeeper outage look for a new session every 5 s, not 60 -->
  <merge_tree><zookeeper_session_expiration_check_period>5</zookeeper_session_expiration_check_period></merge_tree>
  <macros><shard>1</shard><replica>${spec.replica}</replica></macros>
  <remote_servers><millrace><shard><internal_replication>true</internal_replication>${replicas}</shard></millrace></remote_servers>`;
}

function writeConfig({ name, host, httpPort: port, tcpPort, replicated, networks = [] }: ClickHouseSpec): string {
  const conf = confDir(name);
  const configXml = path.join(conf, 'config.xml');
  const data = dataDir(name);
  fs.mkdirSync(conf, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  // Logs go to the console, i.e. the one service log file infra keeps. Trailing slashes on the paths
  // matter to ClickHouse. No interserver_http_port: 18.16 opens one whenever the tag is present.
  fs.writeFileSync(
    configXml,
    `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <console>1</console>
  </logger>
  <http_port>${port}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>${host}</listen_host>
  <path>${data}/</path>
  <tmp_path>${data}/tmp/</tmp_path>
  <user_files_path>${data}/user_files/</user_files_path>
  <format_schema_path>${data}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>536870912</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>${replicated ? replicaConfigXml(replicated, host) : ''}
</yandex>
`,
  );
  fs.writeFileSync(
    path.join(conf, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>${networks.map((n) => `\n        <ip>${n}</ip>`).join('')}
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`,
  );
  return configXml;
}

/** A ClickHouse server as a service infra starts, stops and health-checks. */
export function clickHouseServer(spec: ClickHouseSpec): Service {
  const service = server(spec);
  // a replica loading its tables while ZooKeeper does not answer yet exits (18.16)
  return spec.replicated ? { ...service, startsAfter: ['zookeeper'] } : service;
}

function server(spec: ClickHouseSpec): Service {
  const url = `http://${spec.host}:${spec.httpPort}`;
  return processService({
    name: spec.name,
    host: spec.host,
    ports: spec.replicated
      ? [spec.httpPort, spec.tcpPort, spec.replicated.interserverPort]
      : [spec.httpPort, spec.tcpPort],
    isInstalled: async () => fs.existsSync(SERVER),

    async install() {
      const output = logFile(spec.name);
      log.info({ service: spec.name, output }, 'installing clickhouse-server and clickhouse-client (apt-get)');
      await aptInstall(['clickhouse-server', 'clickhouse-client'], output);
      // Where systemd runs, the package starts its own server on the same ports; ours replaces it.
      await run(asRoot('systemctl', 'disable', '--now', 'clickhouse-server'), output).catch(() => undefined);
    },

    health: async () => (await httpGet(`${url}/ping`))?.body.trim() === 'Ok.',

    async version() {
      const res = await httpGet(`${url}/?query=${encodeURIComponent('SELECT version()')}`);
      return res?.status === 200 ? res.body.trim() : undefined;
    },

    async prepare() {
      return { cmd: SERVER, args: [`--config-file=${writeConfig(spec)}`] };
    },

    recover: spec.replicated ? (logTail) => restoreFromReplicas(spec.name, logTail) : undefined,
  });
}

/**
 * A replica that refuses to start because its parts and ZooKeeper's disagree too much: it counts
 * local parts ZooKeeper does not know (an insert rolled back as a duplicate, or one whose ZooKeeper
 * answer was lost, killed before it was cleaned up or checked) and exits when they are too many
 * (its sanity check at start). ClickHouse's remedy is a start with the force_restore_data flag: such parts are moved to
 * detached/ (kept, not deleted) and the replica fetches what ZooKeeper lists from the other replica.
 */
function restoreFromReplicas(name: ServiceName, logTail: string): string | undefined {
  const refusal = /The local set of parts of table (\S+) doesn't look like the set of parts in ZooKeeper[^\n]*/.exec(
    logTail,
  );
  if (!refusal) return undefined;
  const flags = path.join(dataDir(name), 'flags');
  fs.mkdirSync(flags, { recursive: true });
  fs.writeFileSync(path.join(flags, 'force_restore_data'), '');
  return `${refusal[0]}; starting once more with force_restore_data: the parts ZooKeeper does not know go to the table's detached/ folder and the replica fetches the rest from the other replica`;
}

const config = loadConfig();
const { host, port } = hostAndPort(config.CLICKHOUSE_URL.replace(/\/+$/, ''));

/** The single server of the default setup. */
export const clickhouse = clickHouseServer({
  name: 'clickhouse',
  host,
  httpPort: port,
  tcpPort: config.CLICKHOUSE_TCP_PORT,
});
