/**
 * The chaos harness's CI variant: 20,000 records through the flights, finance and catalog pipelines
 * while two faults of every kind hit the platform (kills of a processor, a sink, a source and the
 * API; stops of the broker, the registry, ClickHouse and Postgres). Every id must be exactly once in
 * every topic and table of its pipeline, none dead-lettered. The full run is `npm run chaos`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAULT_KINDS } from '../../testkit/chaos/faults.ts';
import { formatReport, runChaos } from '../../testkit/chaos/harness.ts';

describe('chaos', () => {
  it('loses and duplicates nothing under two faults of every kind', { timeout: 900_000 }, async () => {
    const report = await runChaos({
      records: 20_000,
      faults: 2 * FAULT_KINDS.length,
      perSecond: 250,
      outageMs: [2_000, 5_000],
      settleMs: 300_000,
    });
    process.stdout.write(`${formatReport(report)}\n`);
    for (const kind of FAULT_KINDS) assert.equal(report.faultsByKind[kind], 2, `two faults of kind ${kind}`);
    for (const t of report.tallies) {
      assert.equal(t.lost, 0, `${t.target}: ${t.lost} of ${t.expected} ids missing`);
      assert.equal(
        t.duplicated,
        0,
        `${t.target}: ${t.duplicated} extra records or rows${t.repeats?.length ? `; ${t.repeats.join('; ')}` : ''}`,
      );
    }
    assert.equal(report.deadLettered, 0, 'no record of the run dead-lettered');
  });
});
