/**
 * `millrace kafka <tool> [args]`: Kafka's own command-line tools (topics, console producer and
 * consumer, consumer groups, transactions, ...) against the configured broker, from the jars infra
 * resolves; `--bootstrap-server` is filled in unless given. `millrace kafka classpath` prints the
 * classpath of those jars (with Avro) for Java clients. Exits with the tool's exit code.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { KAFKA_TOOLS, kafkaClasspath, kafkaToolCommand } from '../../infra/kafka-tools.ts';
import { ensureKafkaJars } from '../../infra/services/kafka.ts';

const usage = `usage: millrace kafka <tool> [args]   (--bootstrap-server is the configured broker unless given)
       millrace kafka classpath          (Kafka's jars and Avro, for java -cp)
tools: ${Object.keys(KAFKA_TOOLS).join(', ')}
`;

export async function run(args: string[]): Promise<number> {
  const [tool, ...rest] = args;
  if (tool === undefined || tool === 'help' || tool === '--help') {
    process.stdout.write(usage);
    return tool === undefined ? 2 : 0;
  }
  if (tool !== 'classpath' && !Object.hasOwn(KAFKA_TOOLS, tool)) {
    process.stderr.write(`millrace kafka: unknown tool "${tool}"\n${usage}`);
    return 2;
  }
  // the folder may predate a jar the pom lists now (the tools came after the broker)
  await ensureKafkaJars();
  if (tool === 'classpath') {
    process.stdout.write(`${kafkaClasspath()}\n`);
    return 0;
  }
  const { cmd, args: toolArgs } = kafkaToolCommand(tool, rest);
  const child = spawn(cmd, toolArgs, { stdio: 'inherit' });
  // Ctrl-C reaches the whole foreground group; a SIGTERM sent to us alone is passed on
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  const [code, signal] = (await Promise.race([
    once(child, 'exit'),
    once(child, 'error').then(([err]) => Promise.reject(err as Error)),
  ])) as [number | null, NodeJS.Signals | null];
  return code ?? (signal === 'SIGINT' ? 130 : 143);
}
