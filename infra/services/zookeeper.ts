/**
 * ZooKeeper for the ClickHouse replicas of the cluster (infra/cluster.ts): one standalone server
 * from the zookeeper jar that Kafka's jars already bring (infra/pom.xml), so nothing more is fetched.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { log } from '../log.ts';
import { processService } from '../managed.ts';
import { confDir, dataDir } from '../paths.ts';
import type { Service } from '../service.ts';
import { consoleLog4j, ensureKafkaJars, kafkaJars } from './kafka.ts';

/** zoo.cfg of a standalone server; the admin server (port 8080) stays off. */
export function zooCfg(host: string, port: number, data: string): string {
  return `tickTime=2000
initLimit=10
syncLimit=5
dataDir=${data}
clientPort=${port}
clientPortAddress=${host}
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
`;
}

/** Sends a four-letter command and returns the answer, or undefined when nothing answers. */
function fourLetters(host: string, port: number, command: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('close', () => resolve(answer || undefined));
    socket.on('error', () => resolve(undefined));
  });
}

export function zookeeperServer(host: string, port: number): Service {
  const conf = confDir('zookeeper');
  return processService({
    name: 'zookeeper',
    host,
    ports: [port],
    isInstalled: async () =>
      fs.existsSync(kafkaJars) && fs.readdirSync(kafkaJars).some((f) => f.startsWith('zookeeper-')),
    install: ensureKafkaJars,
    health: async () => (await fourLetters(host, port, 'ruok')) === 'imok',
    version: async () => /Zookeeper version: ([^-,\s]+)/.exec((await fourLetters(host, port, 'srvr')) ?? '')?.[1],
    async prepare() {
      const data = dataDir('zookeeper');
      fs.mkdirSync(conf, { recursive: true });
      fs.mkdirSync(data, { recursive: true });
      const cfg = path.join(conf, 'zoo.cfg');
      fs.writeFileSync(cfg, zooCfg(host, port, data));
      const log4j = path.join(conf, 'log4j.properties');
      fs.writeFileSync(log4j, consoleLog4j('INFO', 'stdout'));
      log.info({ service: 'zookeeper', data }, 'standalone ZooKeeper');
      return {
        cmd: 'java',
        args: [
          '-cp',
          `${kafkaJars}/*`,
          `-Dlog4j.configuration=file:${log4j}`,
          '-Xms64m',
          '-Xmx256m',
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          cfg,
        ],
      };
    },
  });
}
