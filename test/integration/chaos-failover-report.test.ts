/** The chaos report's failover lines: a measure that another fault overlaps is counted as such (pure, no service). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InjectedFault } from '../../testkit/chaos/faults.ts';
import { failoverLines, overlapping } from '../../testkit/chaos/harness.ts';

// CI's cluster chaos of 2026-12-07 (2c5bcce): the moments its first faults went down, in seconds from 23:14:00
const at = (s: number) => s * 1000;
const faults: InjectedFault[] = [
  {
    kind: 'kill leader broker',
    target: 'kafka-2',
    atMs: at(32.5),
    downMs: 9_500,
    failover: { produceMs: 3_302, clickhouseMs: 51_237 },
  },
  { kind: 'partition host', target: 'millrace-h2', atMs: at(42), downMs: 27_000 },
  {
    kind: 'pause broker',
    target: 'kafka-1',
    atMs: at(69.3),
    downMs: 5_700,
    failover: { produceMs: 2_617, clickhouseMs: 14_028 },
  },
  { kind: 'kill clickhouse replica', target: 'clickhouse-1', atMs: at(80.4), downMs: 7_600 },
  {
    kind: 'kill controller',
    target: 'kafka-2',
    atMs: at(91.8),
    downMs: 10_200,
    failover: { produceMs: 6_518, clickhouseMs: 6_647 },
  },
  { kind: 'kill leader broker', target: 'kafka-3', atMs: at(205.5), downMs: 14_500, failover: { produceMs: 8_339 } },
];

describe('chaos failover report', () => {
  test('a measure meets the faults that begin before its row is in ClickHouse or are still down when it starts', () => {
    assert.deepEqual(overlapping(faults, 0), [2, 3, 4]); // the host cut off 9.5 s after the leader kill, and two more
    assert.deepEqual(overlapping(faults, 2), [4]); // the host back 0.3 s before; the replica killed 11 s after
    assert.deepEqual(overlapping(faults, 4), []); // 91.8-98.4 s: the replica was back at 88.0 s
    assert.deepEqual(overlapping(faults, 5), []); // no row within 60 s: its measure spans 60 s, alone
  });

  test('each kind says how many of its measures another fault overlaps', () => {
    const lines = failoverLines(faults);
    const row = (kind: string) => lines.find((l) => l.trimStart().startsWith(kind))!;
    assert.match(row('kill leader broker'), /51\.2 s \(1 not within 60 s\); 1 of 2 overlapping another fault$/);
    assert.match(row('pause broker'), /14\.0 \/ 14\.0 \/ 14\.0 s; 1 of 1 overlapping another fault$/);
    assert.match(row('kill controller'), /6\.6 \/ 6\.6 \/ 6\.6 s$/);
    // measured only for cluster faults
    assert.equal(
      lines.some((l) => l.includes('partition host')),
      false,
    );
  });
});
