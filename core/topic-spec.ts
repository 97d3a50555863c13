/**
 * What a catalogue entry declares, and the checks that make a catalogue safe to provision:
 * names follow `<domain>.<entity>.<stage>`, every schema parses as Avro and is a record carrying
 * the envelope fields every Millrace record has, and every topic gets a `<topic>.dlq`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { MillraceError } from './errors.ts';

export type Cleanup = { policy: 'delete'; retentionMs: number } | { policy: 'compact' };

export interface TopicSpec {
  /** `<domain>.<entity>.<stage>`, lower case. */
  name: string;
  partitions: number;
  cleanup: Cleanup;
  /** file name of the value schema, relative to the catalogue's schema folder. */
  schema: string;
  /** Writable over HTTP (`POST /v1/topics/{topic}/records`) by roles allowed to ingest. */
  ingestible?: boolean;
  /**
   * The fields whose values, joined by ':', key a record (default: its id). Records that must be
   * read in order, one symbol's prices, share a key and so a partition.
   */
  key?: readonly string[];
  /** Readable live over HTTP (`GET /v1/streams/{topic}`, server-sent events), per tenant. */
  streamable?: boolean;
}

/** A catalogue entry with its schema read, parsed and named for the registry. */
export interface ResolvedTopic extends TopicSpec {
  dlq: string;
  /** TopicNameStrategy: the registry subject of the value schema. */
  subject: string;
  schemaText: string;
  type: avro.Type;
}

export const ENVELOPE_FIELDS = ['id', 'tenant_id', 'event_time'] as const;
export const DLQ_SUFFIX = '.dlq';
const TOPIC_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

export class CatalogueError extends MillraceError {
  override name = 'CatalogueError';
  override readonly code = 'catalogue_invalid';
}

export const dlqTopicOf = (topic: string): string => `${topic}${DLQ_SUFFIX}`;
/** A record's Kafka key under its topic's `key` fields. */
export const recordKey = (topic: Pick<TopicSpec, 'key'>, value: { id: string }): string =>
  topic.key ? topic.key.map((field) => String((value as unknown as Record<string, unknown>)[field])).join(':') : value.id;
export const valueSubjectOf = (topic: string): string => `${topic}-value`;

export function resolveTopic(spec: TopicSpec, schemaDir: string): ResolvedTopic {
  const where = `topic ${spec.name}`;
  if (!TOPIC_NAME.test(spec.name)) {
    throw new CatalogueError(`${where}: name must be <domain>.<entity>.<stage> in lower case`);
  }
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
    throw new CatalogueError(`${where}: partitions must be a positive integer, got ${spec.partitions}`);
  }
  if (spec.cleanup.policy === 'delete' && !(spec.cleanup.retentionMs > 0)) {
    throw new CatalogueError(`${where}: retentionMs must be positive`);
  }
  const file = path.join(schemaDir, spec.schema);
  let schemaText: string;
  let type: avro.Type;
  try {
    schemaText = readFileSync(file, 'utf8');
    type = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
  } catch (error) {
    throw new CatalogueError(`${where}: schema ${file} is not valid Avro: ${(error as Error).message}`);
  }
  if (!(type instanceof avro.types.RecordType)) {
    throw new CatalogueError(`${where}: schema ${spec.schema} must be an Avro record`);
  }
  const fieldNames = new Set(type.fields.map((f) => f.name));
  const missing = ENVELOPE_FIELDS.filter((f) => !fieldNames.has(f));
  if (missing.length > 0) {
    throw new CatalogueError(`${where}: schema ${spec.schema} lacks envelope field(s) ${missing.join(', ')}`);
  }
  const unknownKey = (spec.key ?? []).filter((f) => !fieldNames.has(f));
  if (unknownKey.length > 0) throw new CatalogueError(`${where}: key field(s) ${unknownKey.join(', ')} are not in schema ${spec.schema}`);
  return { ...spec, dlq: dlqTopicOf(spec.name), subject: valueSubjectOf(spec.name), schemaText, type };
}

export function resolveCatalogue(specs: readonly TopicSpec[], schemaDir: string): ResolvedTopic[] {
  const seen = new Set<string>();
  return specs.map((spec) => {
    if (seen.has(spec.name)) throw new CatalogueError(`topic ${spec.name} is declared twice`);
    seen.add(spec.name);
    return resolveTopic(spec, schemaDir);
  });
}
