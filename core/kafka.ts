/** The Kafka client every role uses: brokers from config, kafkajs logs routed into pino. */
import kafkajs, { type Kafka, type LogEntry, type ProducerConfig } from 'kafkajs';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

// kafkajs is CommonJS whose exports Node cannot list for named ESM imports
const { Kafka: KafkaClient, logLevel, Partitioners } = kafkajs;

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client on KAFKA_BROKERS whose logs go through pino (WARN and above unless LOG_LEVEL is debug).
 *
 * @example
 * const kafka = createKafka('millrace-replay');
 * const admin = kafka.admin();
 * await admin.connect();
 */
export function createKafka(clientId = loadConfig().KAFKA_CLIENT_ID): Kafka {
  const log = createLogger('kafkajs', { clientId });
  return new KafkaClient({
    clientId,
    brokers: [...loadConfig().KAFKA_BROKERS],
    // kafkajs INFO is chatty (every join/leave); keep its WARN and above unless debugging.
    logLevel: loadConfig().LOG_LEVEL === 'debug' || loadConfig().LOG_LEVEL === 'trace' ? logLevel.DEBUG : logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[levels[level] ?? 'info'](rest, message);
      },
  });
}

/**
 * Options every producer starts from: the Java client's murmur2 partitioner (kafkajs' default since
 * 2.0, named here so kafkajs stops warning about the change), so keys land where Java clients put them.
 */
export const producerDefaults: ProducerConfig = { createPartitioner: Partitioners.DefaultPartitioner };
