/**
 * `millrace produce --topic T < records.jsonl`: one JSON object per line, validated and encoded
 * against the topic's registered schema. Bad lines are reported by line number with the field at
 * fault and skipped; the good ones are sent. Exit 1 if any line was refused.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Message } from 'kafkajs';
import { topicByName } from '../../core/catalogue.ts';
import { createKafka } from '../../core/kafka.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry, RecordInvalidError } from '../../core/schema-registry.ts';
import { flags } from './options.ts';

const BATCH = 500;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: flags('string', 'topic', 'key-field') });
  if (!values.topic) throw new Error('--topic is required');
  const topic = topicByName(values.topic).name;
  const keyField = values['key-field'];
  const producer = new AvroProducer(createKafka('millrace-produce'), new Registry());
  await producer.connect();
  let batch: Message[] = [];
  let sent = 0;
  let refused = 0;
  let lineNo = 0;
  try {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      lineNo += 1;
      if (line.trim() === '') continue;
      try {
        const value = JSON.parse(line) as { id: string } & Record<string, unknown>;
        const key = keyField === undefined ? undefined : String(value[keyField]);
        batch.push(await producer.prepare(topic, { key, value }));
      } catch (error) {
        if (!(error instanceof SyntaxError || error instanceof RecordInvalidError)) throw error;
        refused += 1;
        process.stderr.write(`line ${lineNo}: ${error.message}\n`);
        continue;
      }
      if (batch.length >= BATCH) {
        await producer.sendPrepared(topic, batch);
        sent += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) {
      await producer.sendPrepared(topic, batch);
      sent += batch.length;
    }
  } finally {
    await producer.disconnect();
  }
  process.stderr.write(`${sent} record(s) sent to ${topic}, ${refused} refused\n`);
  return refused > 0 ? 1 : 0;
}
