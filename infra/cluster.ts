/**
 * The local cluster (`millrace infra up --cluster`): three KRaft nodes (each broker and controller,
 * a quorum of three), ZooKeeper, and two ClickHouse replicas of one shard, beside the default
 * single-node services on ports of their own, so both setups can exist under one MILLRACE_HOME.
 * Postgres and the schema registry are shared. Every internal topic has three replicas and
 * min.insync.replicas is 2: one node may fail without stopping a producer using acks=all.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from './paths.ts';
import type { Service } from './service.ts';
import { clickHouseServer } from './services/clickhouse.ts';
import { kafkaNode } from './services/kafka.ts';
import { zookeeperServer } from './services/zookeeper.ts';

import { CLUSTER } from './cluster-layout.ts';
import { HOSTS_NETWORK, SERVICE_ADDRESS } from './hosts.ts';
export { CLUSTER, clusterBrokers, clusterClickHouseUrls, clusterEnvironment } from './cluster-layout.ts';

const HOST = CLUSTER.host;

/** One KRaft cluster id for all three nodes, made once and kept beside their data. */
function clusterId(): string {
  const file = path.join(dataDir('kafka-cluster'), 'cluster.id');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, randomBytes(16).toString('base64url'));
  }
  return fs.readFileSync(file, 'utf8').trim();
}

const voters = CLUSTER.brokers.map((b) => `${b.id}@${HOST}:${b.controllerPort}`).join(',');

export const clusterServices: readonly Service[] = [
  zookeeperServer(HOST, CLUSTER.zookeeperPort),
  ...CLUSTER.brokers.map((b) =>
    kafkaNode({
      name: b.name,
      host: HOST,
      port: b.port,
      controllerPort: b.controllerPort,
      nodeId: b.id,
      voters,
      replicationFactor: CLUSTER.replicationFactor,
      minInsyncReplicas: CLUSTER.minInsyncReplicas,
      clusterId,
      brokerSessionTimeoutMs: CLUSTER.brokerSessionTimeoutMs,
      heap: { min: '256m', max: '512m' },
    }),
  ),
  ...CLUSTER.clickhouse.map((c) =>
    clickHouseServer({
      name: c.name,
      host: HOST,
      httpPort: c.httpPort,
      tcpPort: c.tcpPort,
      replicated: {
        replica: c.replica,
        interserverPort: c.interserverPort,
        zookeeper: { host: HOST, port: CLUSTER.zookeeperPort },
        replicas: CLUSTER.clickhouse.map((r) => `${HOST}:${r.tcpPort}`),
      },
      // on the service address, the test hosts' roles connect from their own addresses
      networks: HOST === SERVICE_ADDRESS ? [HOSTS_NETWORK] : [],
    }),
  ),
];
