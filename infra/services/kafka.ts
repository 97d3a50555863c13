/** Kafka as KRaft nodes (broker + controller in one JVM each): the default single node, or a cluster's; jars resolved by infra/pom.xml. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { hostAndPort, loadConfig } from '../../core/config.ts';
import { log } from '../log.ts';
import { processService } from '../managed.ts';
import type { Service, ServiceName } from '../service.ts';
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

/** One KRaft node: broker and controller in one JVM. */
export interface KafkaNodeSpec {
  /** the service name, which names its config, data and log */
  name: ServiceName;
  host: string;
  port: number;
  controllerPort: number;
  nodeId: number;
  /** controller.quorum.voters: `id@host:port` of every controller, comma-separated */
  voters: string;
  /** replicas of the internal topics (offsets, transactions), and the default of new topics */
  replicationFactor: number;
  /** min.insync.replicas, of the transaction log too */
  minInsyncReplicas: number;
  /** the KRaft cluster id every node of one cluster is formatted with; a new one when absent */
  clusterId?: () => string;
  /** how long the controllers wait for a broker's heartbeat before fencing it (Kafka's default: 9 s) */
  brokerSessionTimeoutMs?: number;
  /** the JVM's -Xms and -Xmx */
  heap: { min: string; max: string };
}

/** server.properties of a node. */
export function serverProperties(node: KafkaNodeSpec, logDirs: string): string {
  return `process.roles=broker,controller
node.id=${node.nodeId}
controller.quorum.voters=${node.voters}
listeners=PLAINTEXT://${node.host}:${node.port},CONTROLLER://${node.host}:${node.controllerPort}
advertised.listeners=PLAINTEXT://${node.host}:${node.port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDirs}
offsets.topic.replication.factor=${node.replicationFactor}
transaction.state.log.replication.factor=${node.replicationFactor}
transaction.state.log.min.isr=${node.minInsyncReplicas}
default.replication.factor=${node.replicationFactor}
min.insync.replicas=${node.minInsyncReplicas}
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
${
  node.brokerSessionTimeoutMs === undefined
    ? ''
    : `broker.session.timeout.ms=${node.brokerSessionTimeoutMs}\nbroker.heartbeat.interval.ms=${Math.round(node.brokerSessionTimeoutMs / 6)}\n`
}`;
}

/** A Kafka node as a service infra starts, stops and health-checks. */
export function kafkaNode(node: KafkaNodeSpec): Service {
  const conf = confDir(node.name);
  const propertiesFile = path.join(conf, 'server.properties');
  const log4jProperties = path.join(conf, 'log4j.properties');
  const logDirs = dataDir(node.name);
  const java = (...args: string[]) => ({
    cmd: 'java',
    args: ['-cp', `${kafkaJars}/*`, `-Dlog4j.configuration=file:${log4jProperties}`, ...args],
  });

  async function health(): Promise<boolean> {
    const admin = new Kafka({
      clientId: 'millrace-infra',
      brokers: [`${node.host}:${node.port}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      // this node itself registered, not only a peer answering for it
      return cluster.brokers.some((b) => b.nodeId === node.nodeId);
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  return processService({
    name: node.name,
    host: node.host,
    ports: [node.port, node.controllerPort],
    health,
    isInstalled,
    install,

    // The version of the jars the broker runs from: cheaper than asking it over the protocol.
    version: async () => VERSION,

    async prepare() {
      fs.mkdirSync(conf, { recursive: true });
      fs.writeFileSync(propertiesFile, serverProperties(node, logDirs));
      // Everything to stdout, which is the service log file.
      fs.writeFileSync(
        log4jProperties,
        consoleLog4j('INFO', 'stdout', { 'kafka.request.logger': 'WARN', 'state.change.logger': 'WARN' }),
      );
      if (!fs.existsSync(path.join(logDirs, 'meta.properties'))) {
        const clusterId = node.clusterId?.() ?? randomBytes(16).toString('base64url');
        log.info({ service: node.name, clusterId, logDirs }, 'formatting KRaft storage');
        await run(java('kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile), logFile(node.name));
      }
      return java(`-Xms${node.heap.min}`, `-Xmx${node.heap.max}`, 'kafka.Kafka', propertiesFile);
    },
  });
}

const broker = hostAndPort(config.KAFKA_BROKERS[0] ?? '127.0.0.1:9092');

/** The single node of the default setup: every replica count 1. */
export const kafka = kafkaNode({
  name: 'kafka',
  host: broker.host,
  port: broker.port,
  controllerPort: config.KAFKA_CONTROLLER_PORT,
  nodeId: 1,
  voters: `1@${broker.host}:${config.KAFKA_CONTROLLER_PORT}`,
  replicationFactor: 1,
  minInsyncReplicas: 1,
  heap: { min: '256m', max: '1g' },
});
