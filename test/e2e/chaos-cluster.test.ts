/**
 * The chaos harness's CI variant on the local cluster (three KRaft nodes, ZooKeeper, two ClickHouse
 * replicas): 20,000 records through the flights, finance and catalog pipelines while two faults of
 * every cluster kind hit it (the flights topic's partition leader and the active controller
 * SIGKILLed, a node frozen with SIGSTOP past its session timeout, a ClickHouse replica SIGKILLed, a
 * replica's fetches held back while the ClickHouse sinks restart, ZooKeeper killed), with a kill of a
 * processor and of a sink; the pipelines' roles run on two test hosts (network namespaces) as well,
 * and twice one host's link is cut for 20-60 s (past the consumers' 30 s session, the group replaces
 * its members). Every id must be once in every topic, in Postgres, and in each replica of every
 * ClickHouse table. The full run is `npm run chaos -- --cluster --hosts 2`.
 * The harness restarts the cluster on the hosts' service address, and stops it and removes the hosts
 * at the end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterEnvironment } from '../../infra/cluster-layout.ts';
import { SERVICE_ADDRESS } from '../../infra/hosts.ts';

// before anything reads the configuration: the modules below read it as they load. The cluster
// listens on the service address, which the test hosts reach
process.env.MILLRACE_CLUSTER_HOST = SERVICE_ADDRESS;
Object.assign(process.env, clusterEnvironment());
const { CLUSTER_FAULT_KINDS } = await import('../../testkit/chaos/cluster.ts');
const { formatReport, runChaos } = await import('../../testkit/chaos/harness.ts');

describe('chaos on the cluster', () => {
  it('loses and duplicates nothing under two faults of every cluster kind', { timeout: 1_200_000 }, async () => {
    const kinds = [...CLUSTER_FAULT_KINDS, 'partition host', 'kill processor', 'kill sink'] as const;
    const report = await runChaos({
      cluster: true,
      hosts: 2,
      kinds,
      records: 20_000,
      faults: 2 * kinds.length,
      perSecond: 400,
      outageMs: [4_000, 8_000],
      partitionMs: [20_000, 60_000],
      settleMs: 300_000,
    });
    process.stdout.write(`${formatReport(report)}\n`);
    for (const kind of kinds) assert.equal(report.faultsByKind[kind], 2, `two faults of kind ${kind}`);
    for (const t of report.tallies) {
      assert.equal(t.lost, 0, `${t.target}: ${t.lost} of ${t.expected} ids missing`);
      assert.equal(
        t.duplicated,
        0,
        `${t.target}: ${t.duplicated} extra records or rows${t.repeats?.length ? `; ${t.repeats.join('; ')}` : ''}`,
      );
    }
    assert.ok(
      report.tallies.some((t) => t.target.endsWith('(clickhouse-2)')),
      'every replica of the ClickHouse tables is counted',
    );
    assert.equal(report.deadLettered, 0, 'no record of the run dead-lettered');
  });
});
