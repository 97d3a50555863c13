/**
 * The checks that make a catalogue safe to provision: names follow `<domain>.<entity>.<stage>`,
 * every schema parses as Avro and is a record carrying the envelope fields every Millrace record
 * has, key fields exist, and no topic is declared twice.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { dlqTopicOf, ENVELOPE_FIELDS, valueSubjectOf, type TopicSpec } from '../schemas/topic-spec.ts';
import { errorKind } from './errors.ts';

/** A catalogue entry with its schema read, parsed and named for the registry. */
export interface ResolvedTopic extends TopicSpec {
  dlq: string;
  /** TopicNameStrategy: the registry subject of the value schema. */
  subject: string;
  schemaText: string;
  type: avro.Type;
}

const TOPIC_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

export class CatalogueError extends errorKind('CatalogueError', { code: 'catalogue_invalid' }) {}

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
  if (unknownKey.length > 0)
    throw new CatalogueError(`${where}: key field(s) ${unknownKey.join(', ')} are not in schema ${spec.schema}`);
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
