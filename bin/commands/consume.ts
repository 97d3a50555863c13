/**
 * `millrace consume --topic T [--group G] [--from-beginning]`: decoded records as JSON lines on
 * stdout (topic, partition, offset, key, schema_id, value). Offsets are committed after the lines
 * are written, so a consumer stopped with SIGTERM resumes where it left off; undecodable records
 * go to the topic's DLQ. Any topic may be consumed, including ones outside the catalogue.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startAvroConsumer } from '../../core/consumer.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { Registry } from '../../core/schema-registry.ts';
import { onShutdown } from '../../core/shutdown.ts';

export async function run(args: string[]): Promise<number | 'running'> {
  const { values } = parseArgs({
    args,
    options: {
      topic: { type: 'string', multiple: true },
      group: { type: 'string' },
      'from-beginning': { type: 'boolean' },
    },
  });
  if (!values.topic?.length) throw new Error('--topic is required');
  const groupId = values.group ?? `millrace-consume-${randomUUID()}`;
  const log = createLogger('consume', { groupId });
  const consumer = await startAvroConsumer<unknown>({
    kafka: createKafka('millrace-consume'),
    registry: new Registry(),
    groupId,
    topics: values.topic,
    stage: 'consume',
    fromBeginning: values['from-beginning'] ?? false,
    log,
    handle: async (records) => {
      const lines = records.map((r) =>
        JSON.stringify({
          topic: r.topic,
          partition: r.partition,
          offset: r.offset,
          key: r.key,
          schema_id: r.schemaId,
          value: r.value,
        }),
      );
      // committed only once the lines left the process: a write still buffered when SIGTERM ends it would be lost
      await new Promise<void>((resolve, reject) =>
        process.stdout.write(`${lines.join('\n')}\n`, (error) => (error ? reject(error) : resolve())),
      );
    },
  });
  onShutdown('consumer', () => consumer.stop());
  log.info({ topics: values.topic }, 'consuming');
  return 'running';
}
