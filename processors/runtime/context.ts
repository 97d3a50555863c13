/** What every step of the processor runtime works with: the spec, the clients and the processor's state. */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { catalogueKey } from '../../core/catalogue.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../core/schema-registry.ts';
import type { MetricLabels, Replay } from '../../core/runtime.ts';
import type { PartitionOwners } from './owners.ts';
import type { OutputEncoders } from './output-encoders.ts';
import type { ProcessorSpec } from './spec.ts';

export interface ProcessorContext<In, Out extends { id: string }> {
  spec: ProcessorSpec<In, Out>;
  kafka: Kafka;
  registry: Registry;
  /** The outputs' Avro encoders, looked up once. */
  encoders: OutputEncoders;
  log: Logger;
  groupId: string;
  /** Named in DLQ headers: `processor.<name>`. */
  stage: string;
  labels: MetricLabels;
  /** The output and the side outputs: every topic a transform may route to. */
  outputs: ReadonlySet<string>;
  consumer: Consumer;
  admin: Admin;
  owners: PartitionOwners;
  replay?: Replay;
  /** Replay progress per input partition: the next offset to re-run (starts at `from`). */
  replayed: Map<number, bigint>;
  /** Partitions the replay has sent to `from` already. */
  sought: Set<number>;
  checkReplayDone(): void;
}

/** An output record's Kafka key: the spec's `key`, or the catalogue's for its topic. */
export const recordKeyOf = <Out extends { id: string }>(
  spec: Pick<ProcessorSpec<unknown, Out>, 'key'>,
  target: string,
  value: Out,
): string => (spec.key ? spec.key(value) : catalogueKey(target, value));
