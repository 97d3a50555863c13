/** The fields every record carries, and the lineage of a record derived from another. */
/** Every record: a stable id (for idempotency), its tenant and when it happened (epoch ms). */
export interface Envelope {
  id: string;
  tenant_id: string;
  event_time: number;
}

/** Where a derived record came from: its input record's topic, partition and offset. */
export interface Lineage {
  source_topic: string;
  source_partition: number;
  source_offset: number;
}
