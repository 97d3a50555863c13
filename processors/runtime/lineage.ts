/** What every output a processor derives from a record carries: the record's envelope and where it was read. */
import type { ConsumedRecord } from '../../core/decode.ts';
import type { Envelope, Lineage } from '../../schemas/records/envelope.ts';

/**
 * The id, tenant and event time of `record`'s value, and its topic, partition and offset.
 *
 * @example
 * results[index] = [{ ...lineageOf(record), ...score, company_id: record.value.company_id }];
 */
export function lineageOf({ value, topic, partition, offset }: ConsumedRecord<Envelope>): Envelope & Lineage {
  return {
    id: value.id,
    tenant_id: value.tenant_id,
    event_time: value.event_time,
    source_topic: topic,
    source_partition: partition,
    source_offset: Number(offset),
  };
}
