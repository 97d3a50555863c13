/**
 * The ClickHouse sink's TabSeparated inserts against the server: hostile strings, NULL, dates,
 * times, integers and arrays come back as written, every double to the bit, and a row the server
 * refuses goes to the refused callback with ClickHouse's reason while the other rows of its batch
 * and of other partitions' batches written at the same time land (their inserts combined).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ClickHouseWriter } from '../../connectors/sinks/clickhouse/writer.ts';
import { checkSpec, type Cell } from '../../connectors/sinks/runtime/spec.ts';
import type { PreparedRow } from '../../connectors/sinks/runtime/writer.ts';
import { createClickHouse } from '../../core/clickhouse.ts';

const table = `test_tsv_${randomBytes(4).toString('hex')}`;
const topic = 'test.tsv.hostile';
const COLUMNS = ['tenant_id', 'id', 's', 'ns', 'f', 'nf', 'd', 't', 'i', 'u', 'arr'] as const;
const HOSTILE = [
  'tab\there',
  'line\nbreak\r\n',
  'back\\slash\\',
  '\\N',
  '\\t',
  'quote \' "',
  'nul\0',
  '',
  'ünï 東京 🛫',
];
const DOUBLES = [2.718441113349624, 0.1, 1e-7, -12.5, 5e-13, 123456.789, 0.30000000000000004, 42];

const spec = checkSpec({
  name: 'test-tsv',
  topic,
  target: 'clickhouse',
  table,
  key: ['tenant_id', 'id'],
  columns: Object.fromEntries(COLUMNS.map((c) => [c, () => null])),
});

const row = (offset: number, cells: Cell[]): PreparedRow => ({
  offset: BigInt(offset),
  cells,
  source: { topic, partition: 0, offset: String(offset), key: null, value: null, headers: {} } as never,
});

const bitsOf = (value: number) => {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value);
  return buffer.toString('hex').toUpperCase();
};

describe('ClickHouse sink: TabSeparated inserts', () => {
  const ch = createClickHouse();
  before(() =>
    ch.command({
      query: `CREATE TABLE ${table} (tenant_id String, id String, s String, ns Nullable(String), f Float64, nf Nullable(Float64),
        d Date, t DateTime, i Int16, u UInt64, arr Array(String), _topic String, _partition UInt32, _offset UInt64)
        ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id)`,
    }),
  );
  after(async () => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await ch.close();
  });

  it(
    'stores hostile strings, NULL, dates, times, integers and doubles as written; refuses what the server refuses, alone',
    { timeout: 60_000 },
    async () => {
      const writer = new ClickHouseWriter(spec);
      await writer.check();
      const at = new Date(Date.UTC(2026, 11, 7, 3, 4, 5));
      const batches = [0, 1, 2].map((partition) => ({
        clusterId: 'test',
        topic,
        partition,
        start: 0n,
        next: 100n,
        verify: false,
        rows: HOSTILE.map((s, n) =>
          row(n, [
            't1',
            `p${partition}-${n}`,
            s,
            n % 2 ? null : s,
            DOUBLES[n % DOUBLES.length]!,
            n % 3 ? DOUBLES[(n + 1) % DOUBLES.length]! : null,
            '2026-12-07',
            at,
            0 - n,
            18_446_744_073_709_551_615n,
            [s, 'x'],
          ]),
        ),
      }));
      // partition 1 holds a date the server cannot parse: that row alone is refused, with the server's reason
      batches[1]!.rows[4]!.cells[6] = 'not a date';
      const refused: { id: Cell; reason: string }[] = [];
      const outcomes = await Promise.all(
        batches.map((batch) =>
          writer.write(batch, async (r, error) => {
            refused.push({ id: r.cells[1]!, reason: error.message });
          }),
        ),
      );
      await writer.close();
      assert.deepEqual(
        outcomes.map((o) => [o.written, o.refused]),
        [
          [HOSTILE.length, 0],
          [HOSTILE.length - 1, 1],
          [HOSTILE.length, 0],
        ],
      );
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.id, 'p1-4');
      assert.match(refused[0]!.reason, /Code: \d+.*Cannot parse/s);

      const stored = await (
        await ch.query({
          query: `SELECT id, s, ns, hex(reinterpretAsString(f)) AS f, if(isNull(nf), '', hex(reinterpretAsString(assumeNotNull(nf)))) AS nf,
          toString(d) AS d, toUInt32(t) AS t, i, toString(u) AS u, arr, _partition, toString(_offset) AS _offset FROM ${table} ORDER BY id`,
          format: 'JSONEachRow',
        })
      ).json<Record<string, unknown>>();
      assert.equal(stored.length, 3 * HOSTILE.length - 1);
      for (const r of stored) {
        const [, partition, n] = /^p(\d)-(\d+)$/.exec(r.id as string)!.map(Number);
        const s = HOSTILE[n!]!;
        assert.deepEqual(r, {
          id: `p${partition}-${n}`,
          s,
          ns: n! % 2 ? null : s,
          f: bitsOf(DOUBLES[n! % DOUBLES.length]!),
          nf: n! % 3 ? bitsOf(DOUBLES[(n! + 1) % DOUBLES.length]!) : '',
          d: '2026-12-07',
          t: at.getTime() / 1000,
          i: 0 - n!,
          u: '18446744073709551615',
          arr: [s, 'x'],
          _partition: partition,
          _offset: String(n),
        });
      }
    },
  );
});
