/**
 * The patched kafkajs produce path (patches/kafkajs+2.2.4.patch): records written with their
 * headers in place into one buffer, record batches sized up front, messages grouped per partition
 * by appending. The bytes on the wire and the grouping must stay exactly what kafkajs 2.2.4 as
 * published makes; its algorithm is written out here as the reference.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

const require = createRequire(import.meta.url);

interface EncoderLike {
  buffer: Buffer;
  writeVarInt(v: number): EncoderLike;
  writeInt8(v: number): EncoderLike;
  writeVarLong(v: number): EncoderLike;
  writeVarIntBytes(v: Buffer | string | null): EncoderLike;
  writeVarIntString(v: string): EncoderLike;
  writeVarIntArray(v: EncoderLike[]): EncoderLike;
}
interface EncoderClass {
  new (): EncoderLike;
  sizeOfVarInt(v: number): number;
  sizeOfVarLong(v: number): number;
  sizeOfVarIntBytes(v: Buffer | string | null): number;
}
type Headers = Record<string, string | Buffer | (string | Buffer)[]>;
interface RecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: string | Buffer | null;
  value: Buffer | string | null;
  headers?: Headers;
}

const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: RecordInput) => EncoderLike;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (b: Record<string, unknown>) => Promise<EncoderLike>;
};
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  d: unknown,
) => Promise<{ records: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]> }[] }>;
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (o: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  messages: { key: string | null; partition?: number }[];
  partitioner: (o: { message: { key: string | null; partition?: number } }) => number;
}) => Record<string, unknown[]>;

/** kafkajs 2.2.4's Record as published: an encoder per header, then the record. */
function publishedRecord({ offsetDelta, timestampDelta, key, value, headers = {} }: RecordInput): Buffer {
  const headersArray = Object.keys(headers).flatMap((k) => {
    const v = headers[k]!;
    return Array.isArray(v) ? v.map((value) => ({ key: k, value })) : [{ key: k, value: v }];
  });
  let headersSize = Encoder.sizeOfVarInt(headersArray.length);
  for (const h of headersArray) {
    const keySize = Buffer.byteLength(h.key);
    const valueSize = Buffer.byteLength(h.value);
    headersSize += Encoder.sizeOfVarInt(keySize) + keySize + Encoder.sizeOfVarInt(valueSize) + valueSize;
  }
  const sizeOfBody =
    1 +
    Encoder.sizeOfVarLong(timestampDelta) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    headersSize;
  return new Encoder()
    .writeVarInt(sizeOfBody)
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key as Buffer | string | null)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map((h) => new Encoder().writeVarIntString(h.key).writeVarIntBytes(h.value))).buffer;
}

/** Deterministic records of every shape: keyless, valueless, large, without and with (repeated) headers. */
function records(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i): RecordInput => ({
    offsetDelta: i,
    timestampDelta: i * 977,
    key: i % 7 === 0 ? null : `flight-${i}`.repeat(1 + (i % 3)),
    value: i % 11 === 0 ? null : Buffer.alloc((i * 37) % 1500, i % 251),
    headers:
      i % 3 === 0
        ? {}
        : {
            'millrace.source.topic': 'samples.flights.raw',
            'millrace.source.offset': String(i * 1_000_003),
            multi: ['a', Buffer.from('bé')],
          },
  }));
}

describe('kafkajs produce encoding (patched)', () => {
  it('writes every record byte for byte as kafkajs 2.2.4 does', () => {
    for (const record of records(300)) assert.deepEqual(Record(record).buffer, publishedRecord(record));
  });

  it('makes record batches that decode back to their records', async () => {
    const input = records(500);
    const batch = await RecordBatch({
      records: input.map(Record),
      firstTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_500_000,
      transactional: true,
      lastOffsetDelta: input.length - 1,
    });
    const { records: decoded } = await decodeBatch(new Decoder(batch.buffer));
    assert.equal(decoded.length, input.length);
    for (const [i, r] of decoded.entries()) {
      const want = input[i]!;
      assert.deepEqual(r.key, want.key === null ? null : Buffer.from(want.key));
      assert.deepEqual(r.value, want.value === null ? null : Buffer.from(want.value));
      assert.deepEqual(Object.keys(r.headers), Object.keys(want.headers ?? {}));
    }
  });

  it('groups messages per partition in order, as the published reduce did', () => {
    const messages = Array.from({ length: 20_000 }, (_, i) => ({
      key: i % 5 === 0 ? null : `k${i}`,
      ...(i % 13 === 0 ? { partition: i % 6 } : {}),
    }));
    const partitioner = ({ message }: { message: { key: string | null; partition?: number } }) =>
      message.partition ?? (message.key === null ? 0 : message.key.length % 6);
    const published = messages.reduce<Record<string, unknown[]>>((result, message) => {
      const partition = partitioner({ message });
      return Object.assign(result, { [partition]: [...(result[partition] ?? []), message] });
    }, {});
    const partitionMetadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({ partitionId, leader: 0 }));
    assert.deepEqual(groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner }), published);
  });
});
