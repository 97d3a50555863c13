/**
 * Splits Kafka messages into sends the broker accepts: a record batch for one partition must stay
 * under message.max.bytes (1 MB by default), and dead letters carry headers (the reason, the
 * origin) that can outweigh their value, so every part of a record is counted.
 */
import type { IHeaders, Message } from 'kafkajs';

/** Well below the broker's 1 MB, leaving room for batch framing. */
export const MAX_SEND_BYTES = 512 * 1024;
/** Per-record framing: lengths, offsets delta, timestamp delta, attributes. */
const RECORD_OVERHEAD = 32;

const size = (v: Buffer | string | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

function headersSize(headers: IHeaders | undefined): number {
  let total = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) total += Buffer.byteLength(name) + size(v as Buffer | string | undefined) + 8;
  }
  return total;
}

export const messageBytes = (m: Message): number =>
  size(m.value as Buffer | string | null) +
  size(m.key as Buffer | string | null) +
  headersSize(m.headers) +
  RECORD_OVERHEAD;

/**
 * Splits messages into sends of at most `maxBytes` (a message larger than that goes alone).
 *
 * @example
 * for (const chunk of chunkMessages(messages)) await producer.send({ topic, messages: chunk });
 */
export function* chunkMessages(messages: readonly Message[], maxBytes = MAX_SEND_BYTES): Generator<Message[]> {
  let chunk: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const weight = messageBytes(message);
    if (chunk.length > 0 && bytes + weight > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += weight;
  }
  if (chunk.length > 0) yield chunk;
}
