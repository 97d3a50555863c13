/**
 * The Kafka side of erasing a tenant. A compacted topic keeps the last record of each key for good,
 * so every key whose last record names the tenant gets a tombstone (the same key, a null value),
 * and compaction then removes both. A topic under `delete` cannot lose single records: the report
 * says how many of the tenant's records each still holds and from when retention has removed them
 * (the newest one's timestamp + retention.ms; the broker deletes whole segments, so up to a segment's
 * span later).
 */
import type { Kafka } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Registry } from '../../core/schema-registry.ts';
import { readRange, wholeTopic } from '../../core/topic-range.ts';

// kafkajs is CommonJS whose exports Node cannot list for named ESM imports
const { ConfigResourceTypes } = kafkajs;

export interface TopicPolicy {
  topic: string;
  compacted: boolean;
  /** retention.ms of a `delete` topic as the broker has it */
  retentionMs: number | null;
}

export interface Remaining {
  topic: string;
  /** the tenant's records still in the log */
  records: number;
  /** records that do not decode and so may be anyone's (a dead letter's bad bytes) */
  unattributed: number;
  retention_ms: number | null;
  /** when retention has removed the last of them (null: none left) */
  gone_after: string | null;
  /** false when the topic held more than the scan reads (`records` is then a lower bound) */
  complete: boolean;
}

export interface Tombstones {
  topic: string;
  /** tombstones written now for keys whose last record named the tenant */
  written: number;
}

/** cleanup.policy and retention.ms of each topic, from the broker (the catalogue's values once provisioned). */
export async function topicPolicies(kafka: Kafka, topics: readonly string[]): Promise<TopicPolicy[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return [];
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['cleanup.policy', 'retention.ms'],
      })),
    });
    return resources.map((r) => {
      const value = (name: string) => r.configEntries.find((e) => e.configName === name)?.configValue;
      const compacted = (value('cleanup.policy') ?? 'delete').split(',').includes('compact');
      const retention = Number(value('retention.ms'));
      return { topic: r.resourceName, compacted, retentionMs: Number.isFinite(retention) ? retention : null };
    });
  } finally {
    await admin.disconnect();
  }
}

/** The tenant a record's value names, or null when it does not decode; undefined for a tombstone. */
async function tenantOf(registry: Registry, value: Buffer | null): Promise<string | null | undefined> {
  if (value === null) return undefined;
  try {
    const { value: decoded } = await registry.decode<{ tenant_id?: unknown }>(value);
    return typeof decoded.tenant_id === 'string' ? decoded.tenant_id : null;
  } catch {
    return null;
  }
}

/** Writes a tombstone for each key of `topic` whose last record names the tenant. */
export async function tombstoneTenantKeys(
  kafka: Kafka,
  registry: Registry,
  topic: string,
  tenant: string,
): Promise<Tombstones> {
  // per partition and key, whether its last record so far names the tenant
  const last = new Map<string, { partition: number; key: Buffer; tenants: boolean }>();
  await readRange(kafka, topic, await wholeTopic(kafka, topic), async ({ partition, message }) => {
    if (message.key === null) return true;
    const owner = await tenantOf(registry, message.value);
    last.set(`${partition}:${message.key.toString('base64')}`, {
      partition,
      key: message.key,
      tenants: owner === tenant,
    });
    return true;
  });
  const keys = [...last.values()].filter((k) => k.tenants);
  if (keys.length > 0) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      // to the key's own partition: compaction removes a key's records only within one partition
      await producer.send({
        topic,
        acks: -1,
        messages: keys.map((k) => ({ partition: k.partition, key: k.key, value: null })),
      });
    } finally {
      await producer.disconnect();
    }
  }
  return { topic, written: keys.length };
}

/** How many of the tenant's records `topic` still holds (reading at most `scanLimit`), and until when. */
export async function remainingInLog(
  kafka: Kafka,
  registry: Registry,
  policy: TopicPolicy,
  tenant: string,
  scanLimit: number,
): Promise<Remaining> {
  let records = 0;
  let unattributed = 0;
  let newest = -Infinity;
  let scanned = 0;
  const bounds = await wholeTopic(kafka, policy.topic);
  const total = [...bounds.values()].reduce((n, b) => n + Number(b.until - b.from), 0);
  await readRange(kafka, policy.topic, bounds, async ({ message }) => {
    scanned += 1;
    const owner = await tenantOf(registry, message.value);
    if (owner === tenant) {
      records += 1;
      newest = Math.max(newest, Number(message.timestamp));
    } else if (owner === null) unattributed += 1;
    return scanned < scanLimit;
  });
  const goneAfter =
    records > 0 && policy.retentionMs !== null ? new Date(newest + policy.retentionMs).toISOString() : null;
  return {
    topic: policy.topic,
    records,
    unattributed,
    retention_ms: policy.retentionMs,
    gone_after: goneAfter,
    complete: scanned >= total || scanned < scanLimit,
  };
}
