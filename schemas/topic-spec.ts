/**
 * What a catalogue entry declares, and the conventions every topic follows: the envelope fields its
 * records carry, its `<topic>.dlq`, its registry subject (TopicNameStrategy) and its record keys.
 * The checks that make a catalogue safe to provision are in core/topic-checks.ts.
 */

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

export const ENVELOPE_FIELDS = ['id', 'tenant_id', 'event_time'] as const;
export const DLQ_SUFFIX = '.dlq';

export const dlqTopicOf = (topic: string): string => `${topic}${DLQ_SUFFIX}`;
/** A record's Kafka key under its topic's `key` fields. */
export const recordKey = (topic: Pick<TopicSpec, 'key'>, value: { id: string }): string =>
  topic.key
    ? topic.key.map((field) => String((value as unknown as Record<string, unknown>)[field])).join(':')
    : value.id;
export const valueSubjectOf = (topic: string): string => `${topic}-value`;
