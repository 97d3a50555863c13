/**
 * The chaos harness's test hosts (infra/hosts.ts): the flights, finance and catalog pipelines' roles
 * run again in each host's network namespace (testkit/chaos/host-roles.ts), so their consumer groups
 * span the machine and the hosts, and `partition host` cuts one host's link for 20-60 s. The cluster
 * listens on the service address; Postgres and the registry, the machine's, listen on loopback only,
 * so the harness forwards them from the service address while the hosts run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../core/config.ts';
import { logFile } from '../../infra/paths.ts';
import { hostsUp, inHost, SERVICE_ADDRESS, setLink, type TestHost } from '../../infra/hosts.ts';

const HOST_ROLES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'host-roles.ts');

export interface Hosts {
  hosts: TestHost[];
  /** cuts `host` off for `ms`, then joins it again */
  partition(host: TestHost, ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** Forwards `address:port` to 127.0.0.1:port, each connection piped both ways. */
function forward(address: string, port: number): Promise<net.Server> {
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port });
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close);
    outbound.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve(server));
  });
}

/** `url` with its host 127.0.0.1 replaced by the service address, which the hosts reach. */
const viaServiceAddress = (url: string) =>
  url.replace('//127.0.0.1:', `//${SERVICE_ADDRESS}:`).replace('@127.0.0.1:', `@${SERVICE_ADDRESS}:`);

export async function startHosts(count: number, pipelineNames: readonly string[]): Promise<Hosts> {
  const hosts = await hostsUp(count);
  const config = loadConfig();
  const ports = [new URL(config.POSTGRES_URL).port || '5432', new URL(config.SCHEMA_REGISTRY_URL).port].map(Number);
  const forwarders = await Promise.all(ports.map((port) => forward(SERVICE_ADDRESS, port)));
  const env = {
    ...process.env,
    POSTGRES_URL: viaServiceAddress(config.POSTGRES_URL),
    SCHEMA_REGISTRY_URL: viaServiceAddress(config.SCHEMA_REGISTRY_URL),
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
  };
  const children: ChildProcess[] = hosts.map((host) => {
    const log = openSync(logFile(`chaos-${host.namespace}`), 'a');
    const [command, args] = inHost(host, process.execPath, ['--import', 'tsx', HOST_ROLES, ...pipelineNames]);
    return spawn(command, args, { env, stdio: ['ignore', log, log] });
  });
  return {
    hosts,
    partition: async (host, ms) => {
      await setLink(host, false);
      try {
        await new Promise((r) => setTimeout(r, ms));
      } finally {
        await setLink(host, true);
      }
    },
    stop: async () => {
      await Promise.all(hosts.map((host) => setLink(host, true)));
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      await Promise.all(forwarders.map((server) => new Promise((r) => server.close(r))));
    },
  };
}
