/**
 * Kafka's own command-line tools (`millrace kafka <tool> [args]`), run from the jars infra/pom.xml
 * resolves, as Kafka's bin/kafka-*.sh scripts run them, and pointed at the configured broker unless
 * the arguments name one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { confDir } from './paths.ts';
import type { Command } from './process.ts';
import { consoleLog4j, kafkaJars } from './services/kafka.ts';

/** Tool name (bin/kafka-<name>.sh) -> main class, as Kafka 3.9's scripts have them. */
export const KAFKA_TOOLS: Readonly<Record<string, string>> = {
  topics: 'org.apache.kafka.tools.TopicCommand',
  'console-producer': 'kafka.tools.ConsoleProducer',
  'console-consumer': 'org.apache.kafka.tools.consumer.ConsoleConsumer',
  'consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  transactions: 'org.apache.kafka.tools.TransactionsCommand',
  configs: 'kafka.admin.ConfigCommand',
  'get-offsets': 'org.apache.kafka.tools.GetOffsetShell',
  'delete-records': 'org.apache.kafka.tools.DeleteRecordsCommand',
  'log-dirs': 'org.apache.kafka.tools.LogDirsCommand',
  'broker-api-versions': 'kafka.admin.BrokerApiVersionsCommand',
  'metadata-quorum': 'org.apache.kafka.tools.MetadataQuorumCommand',
};

/** The classpath of Kafka's jars (and Avro), for `java -cp` and `millrace kafka classpath`. */
export const kafkaClasspath = (): string => `${kafkaJars}/*`;

/**
 * `args` with `--bootstrap-server <KAFKA_BROKERS>` in front, unless they name a broker already or
 * only ask for help or the version. In front, because the tools with subcommands (transactions)
 * take their global options before the subcommand.
 */
export function withBootstrap(args: readonly string[], brokers: readonly string[]): string[] {
  const named = args.some((a) => a === '--bootstrap-server' || a.startsWith('--bootstrap-server='));
  const asksOnly = args.some((a) => a === '--help' || a === '-h' || a === '--version');
  return named || asksOnly ? [...args] : ['--bootstrap-server', brokers.join(','), ...args];
}

/** Kafka's tools-log4j.properties: warnings and errors to stderr, so stdout carries only what the tool prints. */
function toolsLog4j(): string {
  const file = path.join(confDir('kafka'), 'tools-log4j.properties');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, consoleLog4j('WARN', 'stderr'));
  return file;
}

/**
 * The command that runs one of Kafka's tools against the configured broker.
 *
 * @example
 * const { cmd, args } = kafkaToolCommand('topics', ['--list']);
 * // java -Xmx256m -cp .millrace/lib/kafka-3.9.1/* ... org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
 */
export function kafkaToolCommand(tool: string, args: readonly string[]): Command {
  const main = Object.hasOwn(KAFKA_TOOLS, tool) ? KAFKA_TOOLS[tool] : undefined;
  if (!main) {
    throw new Error(`unknown Kafka tool "${tool}"; known: ${Object.keys(KAFKA_TOOLS).join(', ')}`);
  }
  return {
    cmd: 'java',
    args: [
      '-Xmx256m',
      '-cp',
      kafkaClasspath(),
      `-Dlog4j.configuration=file:${toolsLog4j()}`,
      main,
      ...withBootstrap(args, loadConfig().KAFKA_BROKERS),
    ],
  };
}
