/**
 * Test hosts on this machine: each a network namespace (`millrace-h<n>`) joined to the machine by a
 * veth link, so a role run in it talks to the cluster over a real interface that can be cut (link
 * down: its packets go nowhere, as in a network partition) and joined again. The cluster's services
 * listen on SERVICE_ADDRESS, an address of the machine's loopback device that every host reaches
 * through its link (MILLRACE_CLUSTER_HOST, infra/cluster-layout.ts). Addresses are 10.213.0.0/16,
 * which exists only on this machine. Needs root (ip netns, ip link).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The cluster's address as the hosts (and the machine) reach it. */
export const SERVICE_ADDRESS = '10.213.0.1';
/** Every address the hosts and the service address take. */
export const HOSTS_NETWORK = '10.213.0.0/16';

export interface TestHost {
  n: number;
  namespace: string;
  /** the machine's end of the link */
  link: string;
  /** the host's own address (its end of the link) */
  address: string;
}

export const testHost = (n: number): TestHost => ({
  n,
  namespace: `millrace-h${n}`,
  link: `mr-h${n}`,
  address: `10.213.${n}.2`,
});

const ip = async (...args: string[]): Promise<string> => (await run('ip', args)).stdout;

async function exists(kind: 'netns' | 'link' | 'address', name: string): Promise<boolean> {
  if (kind === 'netns') return (await ip('netns', 'list')).split('\n').some((l) => l.split(' ')[0] === name);
  if (kind === 'link')
    return run('ip', ['link', 'show', name]).then(
      () => true,
      () => false,
    );
  return (await ip('-o', 'addr', 'show', 'dev', 'lo')).includes(` ${name}/`);
}

/** Makes hosts 1..count (what exists already is kept) and the service address; idempotent. */
export async function hostsUp(count: number): Promise<TestHost[]> {
  if (!(await exists('address', SERVICE_ADDRESS))) await ip('addr', 'add', `${SERVICE_ADDRESS}/32`, 'dev', 'lo');
  const hosts = Array.from({ length: count }, (_, i) => testHost(i + 1));
  for (const host of hosts) {
    if (!(await exists('netns', host.namespace))) await ip('netns', 'add', host.namespace);
    if (!(await exists('link', host.link))) {
      await ip('link', 'add', host.link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
      await ip('addr', 'add', `10.213.${host.n}.1/30`, 'dev', host.link);
      await ip('-n', host.namespace, 'addr', 'add', `${host.address}/30`, 'dev', 'eth0');
      await ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
      await ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
      await ip('-n', host.namespace, 'route', 'add', 'default', 'via', `10.213.${host.n}.1`);
    }
    await ip('link', 'set', host.link, 'up');
  }
  return hosts;
}

/** Removes every test host and the service address. */
export async function hostsDown(): Promise<void> {
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (/^millrace-h\d+$/.test(name)) await ip('netns', 'delete', name); // takes its end of the link, and so the link
  }
  if (await exists('address', SERVICE_ADDRESS)) await ip('addr', 'del', `${SERVICE_ADDRESS}/32`, 'dev', 'lo');
}

/** Cuts the host off (its link down) or joins it again. */
export async function setLink(host: TestHost, up: boolean): Promise<void> {
  await ip('link', 'set', host.link, up ? 'up' : 'down');
}

/** The command line that runs `command` inside the host. */
export const inHost = (host: TestHost, command: string, args: readonly string[]): [string, string[]] => [
  'ip',
  ['netns', 'exec', host.namespace, command, ...args],
];
