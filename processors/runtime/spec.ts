/**
 * What a processor is: a name, an input topic, an output topic and a pure, batch-aware transform.
 * The runtime (`run.ts`) runs any such spec exactly-once; this file has no Kafka in it.
 */
import type { ConsumedRecord } from '../../core/consumer.ts';
import type { Logger } from '../../core/logger.ts';
import type { PartitionState } from './state.ts';

export type { ConsumedRecord };

/** One entry per input record, in order: the records it becomes (none is fine), or why it cannot (-> DLQ). */
export type TransformResult<Out> = Out[] | Error;

export interface TransformContext {
  log: Logger;
  /** The input partition's keyed state, when the spec declares `state`. */
  state?: PartitionState;
}

export interface ProcessorSpec<In, Out extends { id: string }> {
  /** Consumer group `millrace.processor.<name>`; also the `name` label of the metrics. */
  name: string;
  /** Input topic (Avro in the Confluent wire format). */
  input: string;
  /** Output topic; values are encoded with the newest schema of `<output>-value`, keyed as the catalogue says (`catalogueKey`). */
  output: string;
  /**
   * Further topics the transform writes to, in the same transaction as `output` (a shadow model's
   * scores beside the public ones); `route` chooses each record's topic.
   */
  sideOutputs?: readonly string[];
  /** The topic of an output record: `output` (the default) or one of `sideOutputs`; encoded with that topic's newest schema. */
  route?(value: Out): string;
  /**
   * The output record's Kafka key, overriding the default: the output topic's catalogue `key`, or the
   * record's `id` (a topic without one, or not in the catalogue). Records that must be processed in
   * order, say one symbol's prices, need a key they share, so that they land in one partition.
   */
  key?(value: Out): string;
  /**
   * Keyed state kept across batches in a compacted changelog topic (`ctx.state`), at least as many
   * partitions as the input; see state.ts.
   */
  state?: { topic: string };
  /**
   * Batch-aware: one entry per input record, in order. May be async (a model scores the whole batch
   * at once). Throwing (or rejecting) fails the whole batch: the transaction is aborted and the batch
   * retried, so throw only for outages, and return an Error for a record that is at fault.
   */
  transform(
    records: ConsumedRecord<In>[],
    ctx: TransformContext,
  ): Promise<TransformResult<Out>[]> | TransformResult<Out>[];
}

/**
 * Lifts a per-record function into a batch transform: what it returns is the record's output,
 * what it throws sends that record (alone) to the DLQ.
 */
export function perRecord<In, Out extends { id: string }>(
  fn: (record: ConsumedRecord<In>, ctx: TransformContext) => Out[] | Promise<Out[]>,
): ProcessorSpec<In, Out>['transform'] {
  return async (records, ctx) => {
    const results: TransformResult<Out>[] = [];
    for (const record of records) {
      try {
        results.push(await fn(record, ctx));
      } catch (error) {
        results.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return results;
  };
}

/** The consumer group of a processor. */
export const processorGroupOf = (name: string): string => `millrace.processor.${name}`;

/**
 * The transactionalId of the producer that owns one input partition: stable across restarts and
 * instances, so that whoever initialises it next fences whoever held it before.
 */
export const transactionalIdOf = (name: string, topic: string, partition: number): string =>
  `${processorGroupOf(name)}.${topic}.${partition}`;

/** Lineage headers every output record carries: the input record it came from. */
export const LINEAGE_HEADER = {
  sourceTopic: 'millrace.source.topic',
  sourcePartition: 'millrace.source.partition',
  sourceOffset: 'millrace.source.offset',
} as const;
