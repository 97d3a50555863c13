/**
 * Where the local cluster's services listen (infra/cluster.ts starts them). Imports nothing that
 * reads the configuration, so a harness can point the configuration at the cluster
 * (clusterEnvironment) before anything loads it.
 */
/**
 * Where every cluster service listens: loopback, or (MILLRACE_CLUSTER_HOST) an address the test
 * hosts' network namespaces reach too (infra/hosts.ts). Read here, when asked, not through
 * core/config.ts, since this module must not load the configuration; config.ts validates it all the same.
 */
const host = (): string => process.env.MILLRACE_CLUSTER_HOST || '127.0.0.1';

export const CLUSTER = {
  get host(): string {
    return host();
  },
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
  /** the controllers fence a silent node after this, and its partitions get new leaders (Kafka's default: 9 s) */
  brokerSessionTimeoutMs: 3000,
} as const;

/** The cluster's bootstrap list, as KAFKA_BROKERS takes it. */
export const clusterBrokers = (): string[] => CLUSTER.brokers.map((b) => `${host()}:${b.port}`);
/** The HTTP address of each ClickHouse replica. */
export const clusterClickHouseUrls = (): string[] => CLUSTER.clickhouse.map((c) => `http://${host()}:${c.httpPort}`);

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
