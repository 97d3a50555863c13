/**
 * Producing over HTTP (after Confluent's REST proxy): each record is checked against the topic's
 * registered schema and the caller's tenant; the valid ones are produced in one request with
 * explicit partitions, so each gets its own offset back; the invalid ones get a precise error.
 */
import kafkajs, { type Admin, type Message } from 'kafkajs';
import type { AvroProducer } from '../core/producer.ts';
import type { Registry } from '../core/schema-registry.ts';
import { recordKey } from '../schemas/topic-spec.ts';
import { type ResolvedTopic } from '../core/topic-checks.ts';

// kafkajs is CommonJS whose exports Node cannot list for named ESM imports
const partitionOf = kafkajs.Partitioners.DefaultPartitioner();

export type RecordResult =
  | { index: number; id: string; partition: number; offset: string }
  | { index: number; error: 'invalid_record'; message: string; field: string; expected?: string };

/**
 * What Avro's check lets through but the platform cannot keep: a double that is not finite (JSON
 * has no Infinity, but parses 1e400 as one), and a timestamp-millis outside what the tables store
 * as a ClickHouse DateTime (seconds since 1970 in 32 bits), which would be silently wrapped there.
 * Only declared fields are looked at: their shape is already checked, so the walk is shallow.
 */
const TIMESTAMP_RANGE_MS = { min: 0, max: 2 ** 32 * 1000 - 1 };
const fieldsOf = new Map<string, { names: string[]; timestamps: Set<string> }>();

function nonFinitePaths(value: unknown, path: string): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [path];
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => nonFinitePaths(v, `${path}.${k}`));
  return [];
}

function unstorable(topic: ResolvedTopic, record: Record<string, unknown>): { field: string; expected: string }[] {
  let fields = fieldsOf.get(topic.name);
  if (!fields) {
    const isTimestamp = (t: unknown): boolean =>
      Array.isArray(t)
        ? t.some(isTimestamp)
        : typeof t === 'object' && t !== null && (t as { logicalType?: unknown }).logicalType === 'timestamp-millis';
    const declared = (JSON.parse(topic.schemaText) as { fields?: { name: string; type: unknown }[] }).fields ?? [];
    fields = {
      names: declared.map((f) => f.name),
      timestamps: new Set(declared.filter((f) => isTimestamp(f.type)).map((f) => f.name)),
    };
    fieldsOf.set(topic.name, fields);
  }
  return fields.names.flatMap((name) => {
    const value = record[name];
    if (
      fields.timestamps.has(name) &&
      typeof value === 'number' &&
      (value < TIMESTAMP_RANGE_MS.min || value > TIMESTAMP_RANGE_MS.max)
    ) {
      return [{ field: name, expected: 'a timestamp-millis from 1970-01-01 to 2106-02-07 (milliseconds since 1970)' }];
    }
    return nonFinitePaths(value, name).map((field) => ({ field, expected: 'a finite number' }));
  });
}

export class Ingestor {
  private readonly partitionCounts = new Map<string, Promise<number>>();

  constructor(
    private readonly registry: Registry,
    private readonly producer: AvroProducer,
    private readonly admin: Admin,
  ) {}

  async ingest(topic: ResolvedTopic, tenantId: string, records: unknown[]): Promise<RecordResult[]> {
    const results: RecordResult[] = new Array(records.length);
    const accepted: { index: number; id: string; message: Message }[] = [];
    const partitions = await this.partitionCount(topic.name);
    // the partitioner only reads ids and count from the metadata
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [],
      isr: [],
    }));
    for (const [index, record] of records.entries()) {
      const problem = await this.check(topic, tenantId, record);
      if (problem) {
        results[index] = { index, error: 'invalid_record', ...problem };
        continue;
      }
      const value = { ...(record as Record<string, unknown>), tenant_id: tenantId } as unknown as { id: string };
      const message = await this.producer.prepare(topic.name, { value, key: recordKey(topic, value) });
      message.partition = partitionOf({ topic: topic.name, partitionMetadata, message });
      accepted.push({ index, id: value.id, message });
    }
    if (accepted.length > 0) {
      const metadata = await this.producer.sendPrepared(
        topic.name,
        accepted.map((a) => a.message),
      );
      const next = new Map(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')]));
      // within one produce request a partition's records get consecutive offsets, in request order
      for (const { index, id, message } of accepted) {
        const partition = message.partition!;
        const offset = next.get(partition)!;
        next.set(partition, offset + 1n);
        results[index] = { index, id, partition, offset: offset.toString() };
      }
    }
    return results;
  }

  private async check(
    topic: ResolvedTopic,
    tenantId: string,
    record: unknown,
  ): Promise<{ message: string; field: string; expected?: string } | undefined> {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return { message: 'a record must be a JSON object', field: '(record)' };
    }
    const given = (record as { tenant_id?: unknown }).tenant_id;
    if (given !== undefined && given !== tenantId) {
      return { message: `tenant_id must be your tenant "${tenantId}" (or left out)`, field: 'tenant_id' };
    }
    const problems = await this.registry.validate(topic.subject, { ...record, tenant_id: tenantId });
    if (problems.length === 0) problems.push(...unstorable(topic, record as Record<string, unknown>));
    const first = problems[0];
    if (!first) return undefined;
    const more =
      problems.length > 1
        ? ` (and ${problems
            .slice(1)
            .map((p) => p.field)
            .join(', ')})`
        : '';
    return {
      message: `field ${first.field} must be ${first.expected}${more}`,
      field: first.field,
      expected: first.expected,
    };
  }

  private partitionCount(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (!count) {
      count = this.admin
        .fetchTopicMetadata({ topics: [topic] })
        .then(({ topics }) => topics[0]?.partitions.length ?? 0);
      count.catch(() => this.partitionCounts.delete(topic));
      this.partitionCounts.set(topic, count);
    }
    return count;
  }
}
