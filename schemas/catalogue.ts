/**
 * The topic catalogue: the single source for provisioning (topics, schemas, DLQs) and for the
 * typed helpers in core/. A new pipeline adds its topics here and its `.avsc` files beside this one.
 */
import type { TopicSpec } from './topic-spec.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export const catalogue: readonly TopicSpec[] = [
  {
    name: 'finance.statements.raw',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'finance.statements.raw.avsc',
    ingestible: true,
  },
  {
    // default-probability scores (processors/finance): anyone may consume them
    name: 'finance.statements.scored',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 365 * DAY_MS },
    schema: 'finance.statements.scored.avsc',
    streamable: true,
  },
  {
    name: 'market.quotes.raw',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'market.quotes.raw.avsc',
    key: ['tenant_id', 'symbol'],
    ingestible: true,
    streamable: true,
  },
  {
    // long enough to re-parse history after a parser fix (`millrace replay`)
    name: 'market.pages.raw',
    partitions: 3,
    cleanup: { policy: 'delete', retentionMs: 365 * DAY_MS },
    schema: 'market.pages.raw.avsc',
  },
  {
    // quotes with their indicators (processors/market), one symbol per key so in order: ClickHouse and Postgres read them
    name: 'market.quotes.enriched',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 365 * DAY_MS },
    schema: 'market.quotes.enriched.avsc',
    key: ['tenant_id', 'symbol'],
    streamable: true,
  },
  {
    name: 'catalog.rows.raw',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'catalog.rows.raw.avsc',
  },
  {
    // the sample pipeline (real flights from vega-datasets): a try-it topic with sinks into both databases
    name: 'samples.flights.raw',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 7 * DAY_MS },
    schema: 'samples.flights.raw.avsc',
    ingestible: true,
    streamable: true,
  },
  {
    // flights scored by the active version of a tabular model (processors/model-scoring): anyone may consume them
    name: 'samples.flights.scored',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 7 * DAY_MS },
    schema: 'samples.flights.scored.avsc',
    streamable: true,
  },
  {
    // the same flights scored by shadow versions, written in the same transactions: read only by the ClickHouse sink
    name: 'samples.flights.shadow',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 7 * DAY_MS },
    schema: 'samples.flights.shadow.avsc',
  },
  {
    // classified product rows (processors/catalog): ClickHouse and the upload's result file read them
    name: 'catalog.rows.classified',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'catalog.rows.classified.avsc',
    streamable: true,
  },
  {
    // image URLs found by the dataset crawler (connectors/sources/image-search)
    name: 'crawl.images.raw',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'crawl.images.raw.avsc',
  },
  {
    // images the validate processor (processors/images) accepted into their dataset
    name: 'crawl.images.accepted',
    partitions: 6,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'crawl.images.accepted.avsc',
  },
  {
    // training jobs to run (POST /v1/training-jobs): `millrace trainer` instances share them in one group
    name: 'models.training.requests',
    partitions: 3,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'models.training.requests.avsc',
  },
  {
    // what trainers report, one job's events in order (keyed by job)
    name: 'models.training.events',
    partitions: 3,
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
    schema: 'models.training.events.avsc',
    key: ['job_id'],
    streamable: true,
  },
  {
    // dead letters sent back to their source topic (core/dlq-redrive.ts), one entry each, kept for
    // good: an entry is what stops a second redrive of the same dead letter
    name: 'ops.deadletters.redriven',
    partitions: 1,
    cleanup: { policy: 'compact' },
    schema: 'ops.deadletters.redriven.avsc',
  },
];
