/**
 * Which URLs a crawler may fetch. Crawl targets come from seeds and from links on fetched pages,
 * that is from strangers, so a target could point the crawler at this machine or its network
 * (SSRF): only http(s) URLs are fetched, and only when every address their host resolves to is
 * public. Loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast,
 * unique-local and IPv4-mapped addresses are refused unless the host is explicitly allowed
 * (CRAWL_ALLOWED_HOSTS). `refusalOf` checks a URL before it is fetched (and every redirect);
 * `guardedLookup` is the HTTP client's resolver, so the address connected to is one that was
 * checked, even if the name resolves differently a moment later (DNS rebinding).
 */
import { lookup as lookupCallback } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

// Two lists: one BlockList checks IPv4 addresses against IPv6 rules too (as IPv4-mapped), so a
// ::ffff:0:0/96 rule in a shared list would refuse every IPv4 address.
const nonPublicV4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  nonPublicV4.addSubnet(network, prefix, 'ipv4');
}
const nonPublicV6 = new BlockList();
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d
  ['::ffff:0:0', 96], // IPv4-mapped: refused whatever the IPv4 address
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublicV6.addSubnet(network, prefix, 'ipv6');
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !nonPublicV4.check(address, 'ipv4');
  return family === 6 && !nonPublicV6.check(address, 'ipv6');
}

/** A host as compared with the allowance: lower case, no IPv6 brackets, no trailing dot (`localhost.`). */
const hostOf = (hostname: string) =>
  hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();

const internalHostMessage = (host: string, address: string) =>
  `${host} is ${address === host ? 'a' : `${address}, a`} loopback, private or link-local address (allow it with CRAWL_ALLOWED_HOSTS)`;

/** Why a URL may not be fetched, or undefined when it may. */
export async function refusalOf(url: string, allowedHosts: readonly string[]): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url.slice(0, 200))} is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return `${parsed.protocol} URLs are not fetched, only http and https`;
  if (parsed.username || parsed.password) return 'URLs with credentials are not fetched';
  const host = hostOf(parsed.hostname);
  if (allowedHosts.includes(host)) return undefined;
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return undefined; // unresolvable: the fetch fails with a network error (through guardedLookup) and is retried
  }
  const internal = addresses.find((a) => !isPublicAddress(a));
  return internal === undefined ? undefined : internalHostMessage(host, internal);
}

export function guardedLookup(allowedHosts: readonly string[]): LookupFunction {
  return (hostname, options, callback) => {
    lookupCallback(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const host = hostOf(hostname);
      const internal = allowedHosts.includes(host) ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (internal)
        return callback(
          Object.assign(new Error(internalHostMessage(host, internal.address)), { code: 'EREFUSEDTARGET' }),
          '',
          0,
        );
      if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
