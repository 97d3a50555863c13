/**
 * `millrace provision`: topics and their DLQs, value schemas (BACKWARD per subject) and the SQL
 * migrations, all from the catalogue and sql/. Every step is idempotent: a second run changes
 * nothing. Partitions only grow (Kafka cannot shrink them); retention and cleanup follow the
 * catalogue on every run.
 */
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import kafkajs from 'kafkajs';
import { createClickHouse } from './clickhouse.ts';
import { loadConfig } from './config.ts';
import { createKafka } from './kafka.ts';
import { ensureClickHouseDatabase, migrateClickHouse, migratePostgres } from './migrations.ts';
import { provisionCredentials, Registry } from './schema-registry.ts';
import type { Cleanup } from '../schemas/topic-spec.ts';
import type { ResolvedTopic } from './topic-checks.ts';

// kafkajs is CommonJS whose exports Node cannot list for named ESM imports
const { ConfigResourceTypes } = kafkajs;
export const DLQ_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

interface TopicPlan {
  name: string;
  partitions: number;
  config: Record<string, string>;
}

export function cleanupConfig(cleanup: Cleanup): Record<string, string> {
  return cleanup.policy === 'compact'
    ? { 'cleanup.policy': 'compact' }
    : { 'cleanup.policy': 'delete', 'retention.ms': String(cleanup.retentionMs) };
}

/** How many copies of each topic, and how many must have a record before acks=all answers. */
export interface Durability {
  replicationFactor: number;
  minInsyncReplicas: number;
}

const configuredDurability = (): Durability => {
  const config = loadConfig();
  return { replicationFactor: config.KAFKA_REPLICATION_FACTOR, minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS };
};

/**
 * The topics a catalogue asks for: each topic, and its DLQ (one partition, kept 30 days), with
 * min.insync.replicas set when more than one replica must hold a record.
 */
export function planTopics(
  topics: readonly ResolvedTopic[],
  { minInsyncReplicas } = configuredDurability(),
): TopicPlan[] {
  const insync: Record<string, string> =
    minInsyncReplicas > 1 ? { 'min.insync.replicas': String(minInsyncReplicas) } : {};
  return topics.flatMap((t) => [
    { name: t.name, partitions: t.partitions, config: { ...cleanupConfig(t.cleanup), ...insync } },
    {
      name: t.dlq,
      partitions: 1,
      config: { ...cleanupConfig({ policy: 'delete', retentionMs: DLQ_RETENTION_MS }), ...insync },
    },
  ]);
}

export interface TopicChanges {
  created: string[];
  grown: string[];
  reconfigured: string[];
}

/** Creates, grows and reconfigures the catalogue's topics; durability from KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS unless given. */
export async function provisionTopics(
  kafka: Kafka,
  topics: readonly ResolvedTopic[],
  durability = configuredDurability(),
): Promise<TopicChanges> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await applyTopicPlan(admin, planTopics(topics, durability), durability.replicationFactor);
  } finally {
    await admin.disconnect();
  }
}

async function applyTopicPlan(admin: Admin, plan: TopicPlan[], replicationFactor: number): Promise<TopicChanges> {
  const changes: TopicChanges = { created: [], grown: [], reconfigured: [] };
  const existing = new Set(await admin.listTopics());
  const missing = plan.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    const specs: ITopicConfig[] = missing.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor,
      configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
    }));
    await admin.createTopics({ topics: specs, waitForLeaders: true });
    changes.created.push(...missing.map((t) => t.name));
  }

  const present = plan.filter((t) => existing.has(t.name));
  if (present.length === 0) return changes;
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
  const grow = present.filter((t) => (metadata.find((m) => m.name === t.name)?.partitions.length ?? 0) < t.partitions);
  if (grow.length > 0) {
    await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })) });
    changes.grown.push(...grow.map((t) => t.name));
  }

  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((t) => ({
      type: ConfigResourceTypes.TOPIC,
      name: t.name,
      configNames: Object.keys(t.config),
    })),
  });
  for (const t of present) {
    const current = described.resources.find((r) => r.resourceName === t.name)?.configEntries ?? [];
    const differs = Object.entries(t.config).some(
      ([name, value]) => current.find((c) => c.configName === name)?.configValue !== value,
    );
    if (!differs) continue;
    // incremental alteration is not in kafkajs; alterConfigs replaces the topic's overrides with this set
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: t.name,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    changes.reconfigured.push(t.name);
  }
  return changes;
}

/**
 * Registers every value schema under its TopicNameStrategy subject with BACKWARD compatibility. The
 * catalogue's own subjects take new versions only with provisionCredentials (provisionAll's registry).
 */
export async function registerSchemas(
  registry: Registry,
  topics: readonly ResolvedTopic[],
): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const t of topics) ids[t.subject] = await registry.register(t.subject, t.schemaText, 'BACKWARD');
  return ids;
}

export interface ProvisionReport {
  topics: TopicChanges;
  schemas: Record<string, number>;
  migrations: { postgres: string[]; clickhouse: string[] };
}

/**
 * Everything `millrace provision` does, against the configured services.
 *
 * @example
 * const report = await provisionAll(loadCatalogue());
 * log.info({ created: report.topics.created }, 'provisioned');
 */
export async function provisionAll(topics: readonly ResolvedTopic[]): Promise<ProvisionReport> {
  const { CLICKHOUSE_REPLICAS: replicas, CLICKHOUSE_DATABASE: database } = loadConfig();
  const urls = replicas.length > 0 ? replicas : [undefined];
  for (const url of urls) {
    const bootstrap = createClickHouse('default', url);
    await ensureClickHouseDatabase(bootstrap).finally(() => bootstrap.close());
  }
  const [clickhouse, ...followers] = urls.map((url) => createClickHouse(database, url));
  try {
    const topicChanges = await provisionTopics(createKafka('millrace-provision'), topics);
    const schemas = await registerSchemas(new Registry(undefined, { credentials: provisionCredentials() }), topics);
    const postgres = await migratePostgres();
    const clickhouseDone = await migrateClickHouse(
      clickhouse!,
      undefined,
      replicas.length > 0 ? { database, followers } : undefined,
    );
    return { topics: topicChanges, schemas, migrations: { postgres, clickhouse: clickhouseDone } };
  } finally {
    await Promise.all([clickhouse!, ...followers].map((c) => c.close()));
  }
}
