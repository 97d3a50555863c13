/**
 * The chaos harness on the local cluster (`infra up --cluster`): three KRaft nodes, ZooKeeper and
 * two ClickHouse replicas, and the faults only a cluster can take: its partition leader or active
 * controller SIGKILLed, a node frozen with SIGSTOP past its session timeout, a ClickHouse replica
 * SIGKILLed, a replica's replication queue held back while the sinks restart (they must not resume
 * from what a lagging replica holds), ZooKeeper stopped and started.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { createClickHouse, type ClickHouseClient } from '../../core/clickhouse.ts';
import { replicatedTables } from '../../core/clickhouse-replicated.ts';
import { kafkaToolCommand } from '../../infra/kafka-tools.ts';
import { CLUSTER, clusterClickHouseUrls } from '../../infra/cluster.ts';
import { killService, signalService, startService, type ServiceName } from '../../infra/index.ts';
import type { Platform } from './platform.ts';
import type { Failover, FailoverProbe } from './probe.ts';

export type { Failover } from './probe.ts';

export const CLUSTER_FAULT_KINDS = [
  'kill leader broker',
  'kill controller',
  'pause broker',
  'kill clickhouse replica',
  'hold replica fetches',
  'restart zookeeper',
] as const;
export type ClusterFaultKind = (typeof CLUSTER_FAULT_KINDS)[number];

/** The topic whose partition 0's leader `kill leader broker` kills: the one the driver writes most to. */
const LEADER_OF = 'samples.flights.raw';

/** Each ClickHouse sink prefers a replica of its own, alternately, so both replicas take inserts. */
export const preferredReplica = (sinkIndex: number): Record<string, string> => ({
  CLICKHOUSE_URL: clusterClickHouseUrls()[sinkIndex % CLUSTER.clickhouse.length]!,
});

/** A client on each ClickHouse replica, in CLUSTER order. */
export const replicaClients = (database?: string): ClickHouseClient[] =>
  clusterClickHouseUrls().map((url) => createClickHouse(database, url));

export interface ClusterFault {
  target: string;
  downMs: number;
  /** measured in the background (up to 60 s), so the next fault and the driver are not held up */
  failover?: Promise<Failover>;
}

export async function injectCluster(
  kind: ClusterFaultKind,
  platform: Platform,
  kafka: Kafka,
  downMs: number,
  random: () => number,
  probe: FailoverProbe,
): Promise<ClusterFault> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  switch (kind) {
    case 'kill leader broker':
    case 'kill controller': {
      const id = kind === 'kill controller' ? await activeController() : await leaderOf(kafka, LEADER_OF);
      const name = `kafka-${id}` as ServiceName;
      return outage(name, downMs, probe, () => killService(name).then(() => undefined));
    }
    case 'pause broker': {
      const name = `kafka-${1 + Math.floor(random() * CLUSTER.brokers.length)}` as ServiceName;
      // frozen past the session timeout, so the controllers fence it and move its partitions
      const frozenMs = Math.max(downMs, CLUSTER.brokerSessionTimeoutMs + 2_000);
      const down = Date.now();
      await signalService(name, 'SIGSTOP');
      const failover = probe.measure(down);
      await sleep(frozenMs);
      await signalService(name, 'SIGCONT');
      return { target: name, downMs: Date.now() - down, failover };
    }
    case 'kill clickhouse replica': {
      const replica = CLUSTER.clickhouse[Math.floor(random() * CLUSTER.clickhouse.length)]!;
      return outage(replica.name as ServiceName, downMs, probe, () =>
        killService(replica.name as ServiceName).then(() => undefined),
      );
    }
    case 'hold replica fetches': {
      const index = Math.floor(random() * CLUSTER.clickhouse.length);
      const clients = replicaClients();
      const client = clients[index]!;
      const down = Date.now();
      try {
        const tables = await replicatedTables(client);
        for (const table of tables) await client.command({ query: `SYSTEM STOP FETCHES ${table}` });
        // the ClickHouse sinks start again meanwhile: each reads where it stands from a replica that caught up
        for (const role of platform.roles.filter((r) => r.kind === 'sink' && r.name.includes('clickhouse')))
          if (role.name in platform.supervisor.threads()) await platform.supervisor.kill(role.name);
        await sleep(downMs);
        for (const table of tables) await client.command({ query: `SYSTEM START FETCHES ${table}` });
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
      return {
        target: `${CLUSTER.clickhouse[index]!.name} fetches, ClickHouse sinks killed`,
        downMs: Date.now() - down,
      };
    }
    case 'restart zookeeper':
      return outage('zookeeper', downMs, probe, () => killService('zookeeper').then(() => undefined));
  }
}

/** `stop` a service, keep it down `downMs` while the failover is measured, start it again. */
async function outage(
  name: ServiceName,
  downMs: number,
  probe: FailoverProbe,
  stop: () => Promise<void>,
): Promise<ClusterFault> {
  const down = Date.now();
  await stop();
  // probed once the service is gone: a probe sent before would measure nothing
  const failover = probe.measure(down);
  await new Promise((r) => setTimeout(r, downMs));
  await startService(name);
  return { target: name, downMs: Date.now() - down, failover };
}

async function leaderOf(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
  } finally {
    await admin.disconnect();
  }
}

/** The KRaft quorum's leader, from Kafka's own metadata-quorum tool. */
async function activeController(): Promise<number> {
  const { cmd, args } = kafkaToolCommand('metadata-quorum', ['describe', '--status']);
  const { stdout } = await promisify(execFile)(cmd, args, { timeout: 30_000 });
  const id = /^LeaderId:\s+(\d+)/m.exec(stdout)?.[1];
  if (id === undefined) throw new Error(`metadata-quorum printed no LeaderId:\n${stdout}`);
  return Number(id);
}

/** Undoes what a fault cut short may have left (the harness stopped mid-fault): frozen nodes thawed, fetches started. */
export async function thawCluster(): Promise<void> {
  for (const broker of CLUSTER.brokers) await signalService(broker.name as ServiceName, 'SIGCONT').catch(() => false);
  for (const client of replicaClients()) {
    try {
      for (const table of await replicatedTables(client))
        await client.command({ query: `SYSTEM START FETCHES ${table}` });
    } catch {
      // a replica that is down has no fetches to start
    } finally {
      await client.close();
    }
  }
}
