/** Kafka as a single KRaft node (broker + controller in one JVM), jars resolved by infra/pom.xml. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { hostAndPort, loadConfig } from '../../core/config.ts';
import { log } from '../log.ts';
import { processService } from '../managed.ts';
import { confDir, dataDir, libDir, logFile } from '../paths.ts';
import { run } from '../process.ts';

const config = loadConfig();
const pom = path.join(config.repoRoot, 'infra', 'pom.xml');
const pomText = fs.readFileSync(pom, 'utf8');
// The pom is the one place the Kafka version is written down.
const VERSION = /<kafka\.version>([^<]+)</.exec(pomText)?.[1] ?? 'unknown';

/** The folder of the jars the pom resolves: the broker's, the tools' (infra/kafka-tools.ts), Avro for Java clients. */
export const kafkaJars = path.join(libDir, `kafka-${VERSION}`);
// Written after a complete copy, so an interrupted install is redone rather than half-used. It holds
// the pom's digest: a pom that lists more jars (the tools came later) resolves again.
const installedMarker = path.join(kafkaJars, '.installed');
const pomDigest = createHash('sha256').update(pomText).digest('hex');
const isInstalled = async () =>
  fs.existsSync(installedMarker) && fs.readFileSync(installedMarker, 'utf8').trim() === pomDigest;

async function install(): Promise<void> {
  const output = logFile('kafka');
  log.info({ service: 'kafka', into: kafkaJars, output }, `resolving Kafka ${VERSION} jars from Maven Central (mvn)`);
  await run({ cmd: 'mvn', args: ['-f', pom, '-q', '-B', 'package', `-Dlib.dir=${libDir}`] }, output);
  fs.writeFileSync(installedMarker, `${pomDigest}\n`);
}

/** Resolves the jars unless the pom's are all there (for the tools, which need no running broker). */
export async function ensureKafkaJars(): Promise<void> {
  if (!(await isInstalled())) await install();
}
const broker = config.KAFKA_BROKERS[0] ?? '127.0.0.1:9092';
const { host, port } = hostAndPort(broker);
const controllerPort = config.KAFKA_CONTROLLER_PORT;
const conf = confDir('kafka');
const serverProperties = path.join(conf, 'server.properties');
const log4jProperties = path.join(conf, 'log4j.properties');
const logDirs = dataDir('kafka');

/**
 * A log4j (1.x, as Kafka 3.9 reads it) configuration: everything at `rootLevel` and above to one
 * console stream, with the levels of some loggers set apart.
 */
export function consoleLog4j(
  rootLevel: 'INFO' | 'WARN',
  stream: 'stdout' | 'stderr',
  loggers: Record<string, 'INFO' | 'WARN'> = {},
): string {
  const appender = `log4j.appender.${stream}`;
  return [
    `log4j.rootLogger=${rootLevel}, ${stream}`,
    `${appender}=org.apache.log4j.ConsoleAppender`,
    `${appender}.layout=org.apache.log4j.PatternLayout`,
    `${appender}.layout.ConversionPattern=[%d] %p %m (%c)%n`,
    ...(stream === 'stderr' ? [`${appender}.Target=System.err`] : []),
    ...Object.entries(loggers).map(([logger, level]) => `log4j.logger.${logger}=${level}`),
    '',
  ].join('\n');
}

const java = (...args: string[]) => ({
  cmd: 'java',
  args: ['-cp', `${kafkaJars}/*`, `-Dlog4j.configuration=file:${log4jProperties}`, ...args],
});

function writeConfig(): void {
  fs.mkdirSync(conf, { recursive: true });
  fs.writeFileSync(
    serverProperties,
    `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${controllerPort}
listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}
advertised.listeners=PLAINTEXT://${host}:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDirs}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
`,
  );
  // Everything to stdout, which is the service log file.
  fs.writeFileSync(
    log4jProperties,
    consoleLog4j('INFO', 'stdout', { 'kafka.request.logger': 'WARN', 'state.change.logger': 'WARN' }),
  );
}

async function health(): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'millrace-infra',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export const kafka = processService({
  name: 'kafka',
  host,
  ports: [port, controllerPort],
  health,
  isInstalled,
  install,

  // The version of the jars the broker runs from: cheaper than asking it over the protocol.
  version: async () => VERSION,

  async prepare() {
    writeConfig();
    if (!fs.existsSync(path.join(logDirs, 'meta.properties'))) {
      const clusterId = randomBytes(16).toString('base64url');
      log.info({ service: 'kafka', clusterId, logDirs }, 'formatting KRaft storage');
      await run(java('kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', serverProperties), logFile('kafka'));
    }
    return java('-Xms256m', '-Xmx1g', 'kafka.Kafka', serverProperties);
  },
});
