/**
 * Where the local cluster's services listen (infra/cluster.ts starts them). Imports nothing that
 * reads the configuration, so a harness can point the configuration at the cluster
 * (clusterEnvironment) before anything loads it.
 */
const HOST = '127.0.0.1';

export const CLUSTER = {
  host: HOST,
  brokers: [
    { name: 'kafka-1', id: 1, port: 19092, controllerPort: 19192 },
    { name: 'kafka-2', id: 2, port: 19093, controllerPort: 19193 },
    { name: 'kafka-3', id: 3, port: 19094, controllerPort: 19194 },
  ],
  zookeeperPort: 12181,
  clickhouse: [
    { name: 'clickhouse-1', replica: 'r1', httpPort: 18123, tcpPort: 19001, interserverPort: 19009 },
    { name: 'clickhouse-2', replica: 'r2', httpPort: 18124, tcpPort: 19002, interserverPort: 19010 },
  ],
  replicationFactor: 3,
  minInsyncReplicas: 2,
} as const;

/** The cluster's bootstrap list, as KAFKA_BROKERS takes it. */
export const clusterBrokers = (): string[] => CLUSTER.brokers.map((b) => `${HOST}:${b.port}`);
/** The HTTP address of each ClickHouse replica. */
export const clusterClickHouseUrls = (): string[] => CLUSTER.clickhouse.map((c) => `http://${HOST}:${c.httpPort}`);

/**
 * The configuration that points Millrace at the local cluster: its brokers (topics with three
 * replicas, min.insync.replicas 2) and both ClickHouse replicas, the first one preferred.
 */
export const clusterEnvironment = (): Record<string, string> => ({
  KAFKA_BROKERS: clusterBrokers().join(','),
  KAFKA_REPLICATION_FACTOR: String(CLUSTER.replicationFactor),
  KAFKA_MIN_INSYNC_REPLICAS: String(CLUSTER.minInsyncReplicas),
  CLICKHOUSE_URL: clusterClickHouseUrls()[0]!,
  CLICKHOUSE_REPLICAS: clusterClickHouseUrls().join(','),
});
