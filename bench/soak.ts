/**
 * `npm run soak -- --minutes N [--rate N]`: the platform of the chaos harness (the flights, finance,
 * catalog and market pipelines and the API, each role a supervised thread of this process) under a steady
 * mixed load for N minutes: the known stream at --rate records/s (70 % flights, 20 % statements,
 * 10 % catalog rows), the market retriever fetching five symbols every 10 s, and a dashboard's
 * query every second (each analytics view, a symbol's bars and the companies in turn). Every 15 s it samples the RSS and open file descriptors of the process holding every role,
 * every consumer group's lag, dead letters, role restarts and API errors; it prints them a minute at
 * a time and judges over the second half (after warm-up) whether memory and lag stay flat.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKey } from '../api/auth/accounts.ts';
import { drive } from '../testkit/chaos/driver.ts';
import { startPlatform } from '../testkit/chaos/platform.ts';
import { freePort } from '../core/free-port.ts';
import { closeClients, PIPELINES, prepare, TAXONOMY } from '../testkit/chaos/setup.ts';
import { planFor, StreamSource } from '../testkit/chaos/streams.ts';
import { DLQ_TOPICS, markTopics } from '../testkit/chaos/verify.ts';
import { eventually } from '../testkit/helpers.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '30' }, rate: { type: 'string', default: '1000' } },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0) || !(rate > 0))
  throw new Error(`--minutes and --rate must be positive numbers; got ${values.minutes}, ${values.rate}`);
const SAMPLE_MS = 15_000;
const say = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

interface Sample {
  atS: number;
  rssMb: Record<string, number>;
  fds: Record<string, number>;
  lag: Record<string, number>;
  deadLetters: number;
  restarts: number;
  apiErrors: number;
  apiRequests: number;
  sent: number;
}

function proc(pid: number): { rssMb: number; fds: number } | undefined {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { rssMb: Math.round(kb / 1024), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined; // it exited between the listing and the read
  }
}

/** Least-squares slope of y over x (per minute when x is in minutes). */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const run = randomBytes(3).toString('hex');
const { clients, tenant } = await prepare(run);
const key = (await createKey(clients.db, tenant, 'analyst', 'soak')).key; // analytics needs the analyst role
const admin = clients.kafka.admin();
await admin.connect();
const dlqMarks = await markTopics(clients.kafka, DLQ_TOPICS);
const platform = startPlatform(PIPELINES, await freePort());
say(`soak ${run}: ${minutes} min at ${rate} records/s, ${platform.roles.length} roles, API ${platform.apiUrl}`);
// the dashboard starts asking once the API is ready: a refused connection while it boots is not a failed query
await eventually(
  'the API ready',
  async () => ((await fetch(`${platform.apiUrl}/readyz`).catch(() => undefined))?.ok ? true : undefined),
  120_000,
);

const source = new StreamSource(run, tenant, planFor(Math.round(rate * minutes * 60)), TAXONOMY);
let sent = 0;
const driving = drive(clients.kafka, clients.registry, source, rate, say);
const counting = setInterval(
  () => (sent = source.plan.flights + source.plan.statements + source.plan.catalog - source.remaining),
  1_000,
);

/** What the soak's dashboard asks, one a second in turn: each analytics view, a symbol's bars, the companies. */
const DASHBOARD = [
  '/v1/analytics/flights?metrics=flights,mean_delay&bucket=day&limit=100',
  '/v1/analytics/flights?metrics=flights,p90_delay&dimensions=origin&bucket=week&limit=1000',
  '/v1/analytics/finance_scores?metrics=statements,mean_probability&dimensions=kind,category&bucket=month&limit=1000',
  '/v1/analytics/catalog_rows?metrics=rows,mean_confidence&dimensions=genre&bucket=hour&limit=1000',
  '/v1/stocks/MSFT/quotes?interval=day',
  '/v1/companies?limit=50',
];
let apiRequests = 0;
let apiErrors = 0;
const apiFailures = new Map<string, number>();
const failedWith = (reason: string) => {
  apiErrors += 1;
  apiFailures.set(reason, (apiFailures.get(reason) ?? 0) + 1);
};
const dashboard = setInterval(() => {
  const route = DASHBOARD[apiRequests % DASHBOARD.length]!;
  apiRequests += 1;
  fetch(`${platform.apiUrl}${route}`, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(5_000),
  }).then(
    async (r) => {
      if (!r.ok) failedWith(`${r.status} ${route.split('?')[0]}`);
      await r.arrayBuffer();
    },
    (error: Error) => failedWith(`${error.name} ${route.split('?')[0]}`),
  );
}, 1_000);

const threadsSeen = new Map<string, Set<number>>();
const samples: Sample[] = [];
const started = Date.now();
const members = async (groupId: string) => (await admin.describeGroups([groupId])).groups[0]?.members.length ?? 0;
async function sample(): Promise<Sample> {
  const rssMb: Record<string, number> = {};
  const fds: Record<string, number> = {};
  for (const [name, tid] of Object.entries(platform.supervisor.threads())) {
    if (tid !== undefined) threadsSeen.set(name, (threadsSeen.get(name) ?? new Set()).add(tid));
  }
  const p = proc(process.pid);
  if (p) [rssMb.platform, fds.platform] = [p.rssMb, p.fds];
  const lag: Record<string, number> = {};
  for (const { groupId } of (await admin.listGroups()).groups.filter((g) => g.groupId.startsWith('millrace.'))) {
    if ((await members(groupId)) === 0) continue; // a group of an earlier run, nobody consuming
    let total = 0;
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
      for (const p of partitions)
        if (Number(p.offset) >= 0) total += Math.max(0, (ends.get(p.partition) ?? 0) - Number(p.offset));
    }
    lag[groupId] = total;
  }
  let deadLetters = 0;
  for (const [topic, mark] of dlqMarks)
    for (const p of await admin.fetchTopicOffsets(topic))
      deadLetters += Number(p.high) - Number(mark.get(p.partition) ?? 0);
  const restarts = [...threadsSeen.values()].reduce((n, tids) => n + tids.size - 1, 0);
  return {
    atS: Math.round((Date.now() - started) / 1000),
    rssMb,
    fds,
    lag,
    deadLetters,
    restarts,
    apiErrors,
    apiRequests,
    sent,
  };
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const line = (s: Sample) =>
  `${String(Math.round(s.atS / 60)).padStart(4)} ${String(s.sent).padStart(10)} ${String(sum(s.rssMb)).padStart(9)} ${String(Math.max(...Object.values(s.rssMb))).padStart(8)} ${String(sum(s.fds)).padStart(6)} ${String(sum(s.lag)).padStart(8)} ${String(s.deadLetters).padStart(5)} ${String(s.restarts).padStart(8)} ${`${s.apiErrors}/${s.apiRequests}`.padStart(11)}`;
process.stdout.write(
  `${' min'} ${'sent'.padStart(10)} ${'RSS MB'.padStart(9)} ${'max MB'.padStart(8)} ${'fds'.padStart(6)} ${'lag'.padStart(8)} ${'dlq'.padStart(5)} ${'restarts'.padStart(8)} ${'api errors'.padStart(11)}\n`,
);
while (Date.now() - started < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, SAMPLE_MS));
  const s = await sample();
  samples.push(s);
  if (samples.length % Math.round(60_000 / SAMPLE_MS) === 0) process.stdout.write(`${line(s)}\n`);
}
clearInterval(dashboard);
const driven = await driving;
clearInterval(counting);

// the verdict, over the second half: the first is warm-up (caches, JIT, batches finding their size)
const later = samples.slice(Math.floor(samples.length / 2));
const perMinute = (pick: (s: Sample) => number): [number, number][] => later.map((s) => [s.atS / 60, pick(s)]);
const roles = Object.keys(later.at(-1)?.rssMb ?? {});
const rssSlopes = Object.fromEntries(
  roles.map((r) => [r, Math.round(slope(perMinute((s) => s.rssMb[r] ?? 0)) * 100) / 100]),
);
const fdSlope = slope(perMinute((s) => sum(s.fds)));
const lagSlope = slope(perMinute((s) => sum(s.lag)));
const maxLag = Math.max(...later.map((s) => sum(s.lag)));
// flat: no role grows by more than 1 MB a minute, file descriptors do not climb, the lag stays under 30 s of load and does not climb
const verdict = {
  memoryFlat: Object.values(rssSlopes).every((m) => m < 1),
  handlesFlat: fdSlope < 1,
  lagFlat: maxLag < rate * 30 && lagSlope < rate,
  // every dashboard query answered (a 4xx or 5xx, or no answer in 5 s, is a failure)
  apiAnswers: apiErrors === 0,
};
const last = samples.at(-1)!;
const summary = {
  run,
  minutes,
  rate,
  sent: driven.sent,
  driverRetries: driven.retried,
  deadLetters: last.deadLetters,
  restarts: last.restarts,
  api: { requests: last.apiRequests, errors: last.apiErrors, failures: Object.fromEntries(apiFailures) },
  rssMb: Object.fromEntries(
    roles.map((r) => [
      r,
      {
        first: samples[0]!.rssMb[r],
        last: last.rssMb[r],
        peak: Math.max(...samples.map((s) => s.rssMb[r] ?? 0)),
        slopeMbPerMin: rssSlopes[r],
      },
    ]),
  ),
  fds: { first: sum(samples[0]!.fds), last: sum(last.fds), slopePerMin: Math.round(fdSlope * 100) / 100 },
  lag: { maxSecondHalf: maxLag, slopePerMin: Math.round(lagSlope), last: last.lag },
  verdict,
};
process.stdout.write(`\n${JSON.stringify(summary, null, 2)}\n`);
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  path.join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
  JSON.stringify({ summary, samples }, null, 2),
);

await platform.supervisor.stop();
await admin.disconnect();
await closeClients(clients);
process.exit(Object.values(verdict).every(Boolean) ? 0 : 1);
