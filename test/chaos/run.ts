/**
 * `npm run chaos [-- --records N --faults N --rate N --seed N --only <fault kind>... --cluster [--hosts N]]`: the chaos harness on the local
 * services (started and installed through infra/ if needed; left running). Prints the table of
 * faults and of every id's whereabouts, writes it as JSON to bench/results/, exits 1 when anything
 * was lost or duplicated. Defaults: 1,000,000 records at 2,000/s with 60 faults. `--cluster`: on the
 * local cluster (`infra up --cluster`), with its faults (testkit/chaos/cluster.ts) and the role kills;
 * `--hosts N` runs the roles on N test hosts too and cuts their links (testkit/chaos/hosts.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterEnvironment } from '../../infra/cluster-layout.ts';
import { SERVICE_ADDRESS } from '../../infra/hosts.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    faults: { type: 'string', default: '60' },
    rate: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    // e.g. --only 'kill processor' --only 'stop broker'
    only: { type: 'string', multiple: true },
    cluster: { type: 'boolean', default: false },
    // with --cluster: roles on N test hosts (network namespaces, root only) and `partition host` faults
    hosts: { type: 'string' },
  },
});
// before anything reads the configuration (the harness's modules do as they load)
if (values.hosts !== undefined) process.env.MILLRACE_CLUSTER_HOST = SERVICE_ADDRESS;
if (values.cluster) Object.assign(process.env, clusterEnvironment());
const { ALL_FAULT_KINDS } = await import('../../testkit/chaos/faults.ts');
type FaultKind = (typeof ALL_FAULT_KINDS)[number];
const { formatReport, runChaos } = await import('../../testkit/chaos/harness.ts');
const number = (name: string, text: string | undefined) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer; got ${text}`);
  return n;
};

const unknown = (values.only ?? []).filter((k) => !(ALL_FAULT_KINDS as readonly string[]).includes(k));
if (unknown.length > 0) throw new Error(`--only takes ${ALL_FAULT_KINDS.join(', ')}; got ${unknown.join(', ')}`);

const report = await runChaos({
  kinds: values.only as FaultKind[] | undefined,
  records: number('records', values.records),
  faults: number('faults', values.faults),
  perSecond: number('rate', values.rate),
  outageMs: [2_000, 10_000],
  seed: values.seed === undefined ? undefined : number('seed', values.seed),
  settleMs: 900_000,
  cluster: values.cluster,
  hosts: values.hosts === undefined ? undefined : number('hosts', values.hosts),
});
process.stdout.write(`${formatReport(report)}\n`);
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  path.join(dir, `chaos-${values.cluster ? 'cluster-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
  JSON.stringify(report, null, 2),
);
process.exit(report.lost === 0 && report.duplicated === 0 ? 0 : 1);
