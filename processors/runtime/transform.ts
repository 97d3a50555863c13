/**
 * One batch of one input partition through a processor's transform, nothing sent yet: decode
 * (core/decode.ts), transform, route and encode. What cannot be decoded, what the transform
 * returns an Error for and what the output schema refuses become dead letters; a thrown error
 * (an outage) fails the whole batch.
 */
import type { KafkaMessage, Message } from 'kafkajs';
import { deadLetterMessages } from '../../core/dead-letters.ts';
import { decodeBatch, type ConsumedRecord } from '../../core/decode.ts';
import type { DeadLetter, DlqSource } from '../../core/dlq.ts';
import { RecordInvalidError } from '../../core/schema-registry.ts';
import { recordKeyOf, type ProcessorContext } from './context.ts';
import { LINEAGE_HEADER, type TransformResult } from './spec.ts';
import type { StateStore } from './state.ts';

export interface Processed {
  /** Per output topic (every one present), the encoded records in input order. */
  out: Map<string, Message[]>;
  /** DLQ messages for the input topic's `.dlq`. */
  dead: Message[];
}

export async function processMessages<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  topic: string,
  partition: number,
  messages: KafkaMessage[],
  state: StateStore | undefined,
): Promise<Processed> {
  const { records, sources, dead } = await decodeBatch<In>(ctx.registry, topic, partition, messages);
  const results = await transformAll(ctx, records, state);
  const out = new Map<string, Message[]>([...ctx.outputs].map((target) => [target, []]));
  for (const [i, result] of results.entries()) {
    const source = sources[i]!;
    if (result instanceof Error) {
      dead.push({ source, error: result });
      continue;
    }
    if (!Array.isArray(result))
      throw new Error(
        `transform of ${ctx.spec.name} returned neither an array nor an Error for offset ${source.message.offset}`,
      );
    let encoded = encodeAll(ctx, source, result);
    // an output's first record: its encoder is looked up once, then every record is encoded without waiting
    while ('unloaded' in encoded) {
      await ctx.encoders.load(encoded.unloaded);
      encoded = encodeAll(ctx, source, result);
    }
    if ('error' in encoded) dead.push(encoded);
    else for (const [target, message] of encoded) out.get(target)!.push(message);
  }
  return { out, dead: deadLetterMessages(dead, ctx.stage, ctx.log) };
}

/** The spec's transform, checked to give one result per record. */
async function transformAll<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  records: ConsumedRecord<In>[],
  state: StateStore | undefined,
): Promise<TransformResult<Out>[]> {
  const { spec, log } = ctx;
  const results = records.length > 0 ? await spec.transform(records, state ? { log, state } : { log }) : [];
  if (!Array.isArray(results) || results.length !== records.length) {
    throw new Error(
      `transform of ${spec.name} returned ${Array.isArray(results) ? results.length : typeof results} result(s) for ${records.length} record(s)`,
    );
  }
  return results;
}

/**
 * One input record's outputs, routed and encoded with lineage headers; a dead letter if the output
 * schema refuses one; `unloaded` names an output whose encoder is to be looked up first.
 */
function encodeAll<In, Out extends { id: string }>(
  ctx: ProcessorContext<In, Out>,
  source: DlqSource,
  values: Out[],
): [string, Message][] | DeadLetter | { unloaded: string } {
  const { spec, outputs, encoders } = ctx;
  const headers = {
    [LINEAGE_HEADER.sourceTopic]: source.topic,
    [LINEAGE_HEADER.sourcePartition]: String(source.partition),
    [LINEAGE_HEADER.sourceOffset]: source.message.offset,
  };
  try {
    const encoded: [string, Message][] = [];
    for (const value of values) {
      const target = spec.route ? spec.route(value) : spec.output;
      if (!outputs.has(target))
        throw new Error(`transform of ${spec.name} routed a record to ${target}, neither its output nor a side output`);
      const encode = encoders.known(target);
      if (!encode) return { unloaded: target };
      encoded.push([target, { key: recordKeyOf(spec, target, value), value: encode(value), headers }]);
    }
    return encoded;
  } catch (error) {
    if (!(error instanceof RecordInvalidError)) throw error;
    return { source, error }; // the transform made something the output schema refuses: this record's fault
  }
}
