/**
 * The chaos harness: the platform (every role of the flights, finance and catalog pipelines, the
 * market sources and the API, as supervised processes) on the local services, a known stream of
 * records with unique ids driven through it at a fixed load, and faults injected at random times
 * meanwhile (kills of each kind of role, stops of each service). When the stream is in, every id is
 * looked for in every topic and table of its pipeline: exactly once, or it counts as lost or
 * duplicated. `npm run chaos` (test/chaos/run.ts) prints the table; test/e2e/chaos.test.ts runs a
 * small variant in CI.
 */
import { randomBytes } from 'node:crypto';
import { syncReplicas } from '../../core/clickhouse-replicated.ts';
import { hostsDown, hostsUp, SERVICE_ADDRESS } from '../../infra/hosts.ts';
import { infraDown, infraUp } from '../../infra/index.ts';
import { CLUSTER } from '../../infra/cluster.ts';
import { random as seeded } from '../training-helpers.ts';
import { drive, type DriveReport } from './driver.ts';
import { inject, possibleFaults, type FaultKind, type InjectedFault } from './faults.ts';
import { preferredReplica, replicaClients, thawCluster } from './cluster.ts';
import { startHosts } from './hosts.ts';
import { FAILOVER_WITHIN_MS, FailoverProbe } from './probe.ts';
import { startPlatform } from './platform.ts';
import { freePort } from '../../core/free-port.ts';
import { closeClients, PIPELINES, prepare, TAXONOMY, VERIFIED_PIPELINES } from './setup.ts';
import { idPrefix, planFor, StreamSource, type StreamPlan } from './streams.ts';
import { DLQ_TOPICS, markTopics, repeatedIds, tableIds, tally, TARGETS, topicIds, type Tally } from './verify.ts';

export interface ChaosOptions {
  records: number;
  faults: number;
  /** offered load of the driver */
  perSecond: number;
  /** how long a stopped service stays down, ms (a random length in the range) */
  outageMs: [number, number];
  /** only these kinds of fault (all by default) */
  kinds?: readonly FaultKind[];
  /** to repeat a run's fault schedule */
  seed?: number;
  /** how long the platform gets to take in the whole stream after the last fault */
  settleMs?: number;
  /** on the local cluster (the configuration must point at it: infra/cluster-layout.ts clusterEnvironment) with its faults */
  cluster?: boolean;
  /**
   * With the cluster: this many test hosts (network namespaces, infra/hosts.ts) running the verified
   * pipelines' roles too, and `partition host` among the faults. The cluster must listen on the
   * service address (MILLRACE_CLUSTER_HOST=10.213.0.1): it is restarted there first, and stopped,
   * with the hosts removed, at the end.
   */
  hosts?: number;
  /**
   * How long a test host stays cut off, ms: 20-60 s by default, under the consumers' 30 s session
   * timeout (the group waits for the host) and past it (its members are replaced and come back as
   * zombies).
   */
  partitionMs?: [number, number];
  log?: (line: string) => void;
}

export interface ChaosReport {
  run: string;
  seed: number;
  plan: StreamPlan;
  drive: DriveReport;
  faults: InjectedFault[];
  faultsByKind: Record<string, number>;
  tallies: Tally[];
  deadLettered: number;
  /** polls of the API's /readyz during the run that failed (it is killed, its databases stop) */
  apiUnready: number;
  apiPolls: number;
  lost: number;
  duplicated: number;
  seconds: number;
}

/** Every kind once in a random order, again and again: a few faults still cover every kind. */
function faultSchedule(kinds: readonly FaultKind[], count: number, random: () => number): FaultKind[] {
  const out: FaultKind[] = [];
  while (out.length < count) out.push(...[...kinds].sort(() => random() - 0.5));
  return out.slice(0, count);
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const hostCount = options.cluster ? (options.hosts ?? 0) : 0;
  if (hostCount === 0) return chaosRun(options, 0);
  if (CLUSTER.host !== SERVICE_ADDRESS) throw new Error(`test hosts need MILLRACE_CLUSTER_HOST=${SERVICE_ADDRESS}`);
  // the services bind the service address, which must exist first; running ones may be bound elsewhere
  await infraDown(undefined, { cluster: true });
  await hostsUp(hostCount);
  try {
    return await chaosRun(options, hostCount);
  } finally {
    // bound to an address that goes with the hosts
    await infraDown(undefined, { cluster: true });
    await hostsDown();
  }
}

async function chaosRun(options: ChaosOptions, hostCount: number): Promise<ChaosReport> {
  const log =
    options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`));
  const seed = options.seed ?? randomBytes(4).readUInt32BE();
  const random = seeded(seed);
  const run = randomBytes(3).toString('hex');
  const startedAt = Date.now();

  const cluster = options.cluster ?? false;
  const { clients, tenant } = await prepare(run, cluster);
  const replicas = cluster ? replicaClients() : [];

  const topics = [...new Set(TARGETS.flatMap((t) => (t.kind === 'topic' ? [t.topic] : [])).concat(DLQ_TOPICS))];
  const marks = await markTopics(clients.kafka, topics);
  const plan = planFor(options.records);
  log(
    `run ${run} (seed ${seed}): ${options.records.toLocaleString('en')} records (${JSON.stringify(plan)}) at ${options.perSecond}/s, ${options.faults} faults`,
  );

  const platform = startPlatform(PIPELINES, await freePort(), cluster ? preferredReplica : undefined);
  const hosts = hostCount > 0 ? await startHosts(hostCount, VERIFIED_PIPELINES) : undefined;
  // the API's readiness once a second, counted from its first ready answer (its start-up is not an outage)
  let apiPolls = 0;
  let apiUnready = 0;
  let apiUp = false;
  const poller = setInterval(() => {
    fetch(`${platform.apiUrl}/readyz`, { signal: AbortSignal.timeout(900) }).then(
      (r) => count(r.ok),
      () => count(false),
    );
  }, 1_000);
  const count = (ready: boolean) => {
    apiUp ||= ready;
    if (!apiUp) return;
    apiPolls += 1;
    apiUnready += ready ? 0 : 1;
  };

  let probe: FailoverProbe | undefined;
  try {
    const source = new StreamSource(run, tenant, plan, TAXONOMY);
    // the stream in faults + 1 segments: fault k comes when segment k is sent, and segment k + 1 waits until it has begun,
    // so every fault meets records in flight however long the outages take
    const segment = options.records / (options.faults + 1);
    let sent = 0;
    let begun = 0;
    const measuring: Promise<void>[] = [];
    const until = async (ready: () => boolean) => {
      while (!ready()) await new Promise((r) => setTimeout(r, 50));
    };
    const driving = drive(clients.kafka, clients.registry, source, options.perSecond, log, {
      gate: (n) => until(() => begun >= Math.min(options.faults, Math.floor(n / segment))),
      progress: (n) => {
        sent = n;
      },
    });
    const faults: InjectedFault[] = [];
    const onCluster = cluster
      ? {
          kafka: clients.kafka,
          probe: (probe = await FailoverProbe.start(clients.registry, run, tenant, replicas)),
          measuring,
          hosts,
          partitionMs: options.partitionMs ?? [20_000, 60_000],
        }
      : undefined;
    const kinds = possibleFaults(platform, cluster, hostCount > 0).filter((k) => options.kinds?.includes(k) ?? true);
    for (const kind of faultSchedule(kinds, options.faults, random)) {
      await until(() => sent >= (faults.length + 1) * segment - options.perSecond / 2);
      // a random moment within the next half second of load
      await new Promise((r) => setTimeout(r, random() * 500));
      const [low, high] = options.outageMs;
      begun += 1;
      const fault = await inject(kind, platform, low + random() * (high - low), random, startedAt, onCluster);
      faults.push(fault);
      log(
        `fault ${faults.length}/${options.faults} after ${sent.toLocaleString('en')} records: ${kind} ${fault.target}${fault.downMs ? `, down ${(fault.downMs / 1000).toFixed(1)} s` : ''}`,
      );
    }
    const driven = await driving;
    await Promise.all(measuring);
    for (const [i, fault] of faults.entries())
      if (fault.failover)
        log(
          `fault ${i + 1} (${fault.kind} ${fault.target}): failover ${JSON.stringify(fault.failover)}${overlapNote(faults, i)}`,
        );
    log(
      `driver done: ${driven.sent.toLocaleString('en')} records in ${driven.transactions} transactions, ${driven.retried} batches retried, ${driven.seconds.toFixed(0)} s`,
    );

    // every table holds every id, or the settle time is up: then count what is where
    const expected = (stream: keyof StreamPlan) => plan[stream];
    const settleBy = Date.now() + (options.settleMs ?? 300_000);
    for (const target of TARGETS) {
      if (target.kind === 'topic') continue;
      const prefix = idPrefix(run, target.stream);
      while (
        (await tableIds(clients, target, prefix).catch(() => ({ present: -1 }))).present < expected(target.stream) &&
        Date.now() < settleBy
      ) {
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
    log(`settled after ${((Date.now() - startedAt) / 1000).toFixed(0)} s; counting every id in every topic and table`);
    const tallies: Tally[] = [];
    for (const target of TARGETS) {
      const prefix = idPrefix(run, target.stream);
      if (target.kind === 'topic') {
        const ids = await topicIds(clients, target.topic, marks.get(target.topic)!, prefix);
        tallies.push({
          ...tally(
            target.name,
            expected(target.stream),
            ids.size,
            [...ids.values()].reduce((n, at) => n + at.length, 0),
          ),
          repeats: repeatedIds(ids),
        });
      } else if (target.kind === 'clickhouse' && cluster) {
        // every replica holds every row once: each is counted as stored, once it caught up
        for (const [i, replica] of replicas.entries()) {
          await syncReplicas(replica, 300, [target.table]);
          const { present, rows } = await tableIds({ ...clients, clickhouse: replica }, target, prefix);
          tallies.push(
            tally(`${target.name} (${CLUSTER.clickhouse[i]!.name})`, expected(target.stream), present, rows),
          );
        }
      } else {
        const { present, rows } = await tableIds(clients, target, prefix);
        tallies.push(tally(target.name, expected(target.stream), present, rows));
      }
    }
    let deadLettered = 0;
    for (const topic of DLQ_TOPICS)
      for (const at of (await topicIds(clients, topic, marks.get(topic)!, `chaos-${run}-`)).values())
        deadLettered += at.length;

    const faultsByKind = Object.fromEntries(kinds.map((k) => [k, faults.filter((f) => f.kind === k).length]));
    return {
      run,
      seed,
      plan,
      drive: driven,
      faults,
      faultsByKind,
      tallies,
      deadLettered,
      apiUnready,
      apiPolls,
      lost: tallies.reduce((n, t) => n + Math.max(0, t.lost), 0),
      duplicated: tallies.reduce((n, t) => n + Math.max(0, t.duplicated), 0),
      seconds: (Date.now() - startedAt) / 1000,
    };
  } finally {
    clearInterval(poller);
    // every service back up, whatever happened, before the roles are asked to stop
    await infraUp(undefined, { cluster }).catch(() => undefined);
    if (cluster) await thawCluster();
    await hosts?.stop();
    await platform.supervisor.stop();
    await probe?.stop();
    await closeClients(clients);
    await Promise.all(replicas.map((r) => r.close()));
  }
}

/**
 * The other faults (numbered from 1) whose time, down to back up, meets fault i's failover
 * measure: from the fault until the probe's row is in ClickHouse (60 s when it was not). Such a
 * figure measures the overlapping fault too (a host cut off while a killed leader's partitions move).
 */
export function overlapping(faults: readonly InjectedFault[], i: number): number[] {
  const fault = faults[i]!;
  const { produceMs, clickhouseMs } = fault.failover ?? {};
  // an acknowledgement may come just after the window, for a probe sent inside it
  const end = fault.atMs + (clickhouseMs ?? Math.max(produceMs ?? 0, FAILOVER_WITHIN_MS));
  return faults.flatMap((other, j) =>
    j !== i && other.atMs <= end && other.atMs + other.downMs >= fault.atMs ? [j + 1] : [],
  );
}

const overlapNote = (faults: readonly InjectedFault[], i: number) => {
  const others = overlapping(faults, i);
  return others.length > 0 ? `, overlapping fault ${others.join(', ')}` : '';
};

/** Per kind of cluster fault: fault to the first probe flight acknowledged and to its row in ClickHouse (probe.ts), min/median/max. */
export function failoverLines(faults: readonly InjectedFault[]): string[] {
  const measured = faults.flatMap((f, i) =>
    f.failover ? [{ ...f, overlapped: overlapping(faults, i).length > 0 }] : [],
  );
  if (measured.length === 0) return [];
  const summary = (values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    const missed = values.length - known.length;
    if (known.length === 0) return `none within 60 s`;
    const s = (ms: number) => (ms / 1000).toFixed(1);
    return `${s(known[0]!)} / ${s(known[Math.floor((known.length - 1) / 2)]!)} / ${s(known.at(-1)!)} s${missed ? ` (${missed} not within 60 s)` : ''}`;
  };
  const kinds = [...new Set(measured.map((f) => f.kind))];
  return [
    '',
    'failover (min / median / max)     first probe acknowledged        its row in ClickHouse',
    ...kinds.map((kind) => {
      const of = measured.filter((f) => f.kind === kind);
      const overlapped = of.filter((f) => f.overlapped).length;
      const line = `  ${kind.padEnd(30)} ${summary(of.map((f) => f.failover!.produceMs)).padEnd(32)} ${summary(of.map((f) => f.failover!.clickhouseMs))}`;
      return overlapped > 0 ? `${line}; ${overlapped} of ${of.length} overlapping another fault` : line;
    }),
  ];
}

/** The table `npm run chaos` prints. */
export function formatReport(report: ChaosReport): string {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  return [
    `run ${report.run}, seed ${report.seed}, ${report.seconds.toFixed(0)} s`,
    '',
    'faults injected',
    ...Object.entries(report.faultsByKind).map(([kind, n]) => `  ${kind.padEnd(24)} ${pad(n, 4)}`),
    `  ${'total'.padEnd(24)} ${pad(report.faults.length, 4)}`,
    ...failoverLines(report.faults),
    '',
    `${'where'.padEnd(44)} ${pad('records', 9)} ${pad('present', 9)} ${pad('lost', 6)} ${pad('duplicated', 11)}`,
    ...report.tallies.map(
      (t) =>
        `${t.target.padEnd(44)} ${pad(t.expected, 9)} ${pad(t.present, 9)} ${pad(t.lost, 6)} ${pad(t.duplicated, 11)}`,
    ),
    '',
    `dead-lettered: ${report.deadLettered}; driver: ${report.drive.sent} sent in ${report.drive.transactions} transactions, ${report.drive.retried} retried; API not ready in ${report.apiUnready} of ${report.apiPolls} polls`,
    `lost ${report.lost}, duplicated ${report.duplicated}`,
    ...report.tallies.flatMap((t) => (t.repeats ?? []).map((line) => `  ${t.target}: ${line}`)),
  ].join('\n');
}
