/**
 * The Postgres sink writer on the real server, without Kafka: rows go through COPY into the
 * staging table and on into the target. Hostile text comes back byte for byte; a row Postgres
 * cannot store (a NUL byte, a smallint overflow caught by COPY, a CHECK caught by the insert) is
 * refused with Postgres' words while the rest of its batch lands; a batch of keys already there
 * updates them; and a connection lost after the COPY, before the commit, leaves neither rows nor
 * position, so the retry writes each row once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PostgresWriter } from '../../connectors/sinks/postgres/writer.ts';
import { checkSpec, defineSink } from '../../connectors/sinks/runtime/spec.ts';
import type { PartitionBatch, PreparedRow } from '../../connectors/sinks/runtime/writer.ts';
import { createPostgresPool } from '../../core/postgres.ts';

interface Row {
  id: string;
  tenant_id: string;
  event_time: Date;
  origin: string;
  destination: string;
  distance: number;
  delay: number;
}

const suffix = randomBytes(4).toString('hex');
const table = `test_pgcopy_${suffix}`;
const topic = `test.pgcopy_${suffix}.raw`;
const db = createPostgresPool(2);
const spec = checkSpec(
  defineSink<Row>({
    name: `test-pgcopy-${suffix}`,
    topic,
    target: 'postgres',
    table,
    key: ['tenant_id', 'id'],
    columns: {
      id: (r) => r.id,
      tenant_id: (r) => r.tenant_id,
      event_time: (r) => r.event_time,
      origin: (r) => r.origin,
      destination: (r) => r.destination,
      distance: (r) => r.distance,
      delay: (r) => r.delay,
      source_partition: (_, m) => m.partition,
      source_offset: (_, m) => m.offset,
    },
  }),
);

const HOSTILE = [
  'tab\there',
  'new\nline',
  'carriage\rreturn\r\n',
  'back\\slash \\N \\. \\t',
  '\\',
  '\\N',
  '"quoted", \'single\'',
  '{not,an,array}',
  'é ☃ 😀 \u2028 \b\f\v\u0001',
  '',
];

let offset = 0n;
function row(fields: Partial<Row> & { id: string }): PreparedRow {
  const r: Row = {
    tenant_id: 't1',
    event_time: new Date(Date.UTC(2026, 0, 1)),
    origin: 'JFK',
    destination: 'LAX',
    distance: 100,
    delay: 5,
    ...fields,
  };
  const at = offset++;
  const cells = [r.id, r.tenant_id, r.event_time, r.origin, r.destination, r.distance, r.delay, 0, String(at)];
  return {
    offset: at,
    cells,
    source: { topic, partition: 0, message: { key: null, value: null, headers: {}, offset: String(at) } },
  };
}

function batchOf(rows: PreparedRow[], start: bigint, verify = false): PartitionBatch {
  return { clusterId: 'test-cluster', topic, partition: 0, start, next: rows.at(-1)!.offset + 1n, rows, verify };
}

const position = async () =>
  (await db.query<{ next_offset: string }>('SELECT next_offset FROM sink_offsets WHERE sink = $1', [spec.name])).rows[0]
    ?.next_offset;

describe('Postgres sink writer: COPY through a staging table', () => {
  let writer: PostgresWriter<Row>;
  before(async () => {
    await db.query(`CREATE TABLE ${table} (LIKE samples_flights INCLUDING ALL)`);
    writer = new PostgresWriter(spec);
    await writer.check();
  });
  after(async () => {
    await writer.close();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.query('DELETE FROM sink_offsets WHERE sink = $1', [spec.name]);
    await db.end();
  });

  it('hostile text round-trips; unstorable rows are refused with the reason, their neighbours written', async () => {
    // in offset order: hostile good rows with the three bad ones among them
    const rows: PreparedRow[] = [];
    HOSTILE.forEach((text, i) => {
      rows.push(row({ id: `h${i}`, origin: text, destination: `${text}|${i}` }));
      if (i === 0) rows.push(row({ id: 'nul', origin: 'a\0b' }));
      if (i === 4) rows.push(row({ id: 'overflow', delay: 40_000 })); // smallint: refused by COPY itself
      if (i === 7) rows.push(row({ id: 'negative', distance: -1 })); // CHECK (distance >= 0): refused by the insert
    });
    const refused: { id: string; message: string }[] = [];
    const outcome = await writer.write(batchOf(rows, 0n), async (r, error) => {
      assert.equal(error.name, 'RowRefusedError');
      refused.push({ id: String(r.cells[0]), message: error.message });
    });
    assert.deepEqual(outcome, { durable: offset, written: HOSTILE.length, refused: 3 });
    assert.deepEqual(refused.map((r) => r.id).sort(), ['negative', 'nul', 'overflow']);
    const reason = (id: string) => refused.find((r) => r.id === id)!.message;
    assert.match(reason('nul'), /invalid byte sequence for encoding "UTF8": 0x00 \[SQLSTATE 22021\]/);
    assert.match(reason('overflow'), /out of range for type smallint.*\[SQLSTATE 22003\]/);
    assert.match(reason('negative'), /violates check constraint.*\[SQLSTATE 23514\]/);

    const { rows: stored } = await db.query<{ id: string; origin: string; destination: string }>(
      `SELECT id, origin, destination FROM ${table} ORDER BY id`,
    );
    assert.deepEqual(
      stored,
      HOSTILE.map((text, i) => ({ id: `h${i}`, origin: text, destination: `${text}|${i}` })).sort((a, b) =>
        a.id < b.id ? -1 : 1,
      ),
    );
    assert.equal(await position(), String(offset));
  });

  it('keys already in the table are updated (the COPY into the table gives way to the staging table and the upsert), new ones inserted', async () => {
    for (let round = 0; round < 3; round++) {
      const rows = [row({ id: 'h0', delay: 100 + round }), row({ id: `new${round}`, delay: round })];
      await writer.write(batchOf(rows, rows[0]!.offset), async () => {
        throw new Error('nothing is refused');
      });
    }
    const { rows } = await db.query<{ id: string; delay: number; n: string }>(
      `SELECT id, delay, count(*) OVER () AS n FROM ${table} WHERE id IN ('h0', 'new0', 'new1', 'new2') ORDER BY id`,
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.delay]),
      [
        ['h0', 102],
        ['new0', 0],
        ['new1', 1],
        ['new2', 2],
      ],
    );
  });

  it('a connection lost after the COPY, before the commit: no row, no position; the retry writes each row once', async () => {
    const before = await position();
    const { rows: counted } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    // the insert from the staging table kills its own connection: the COPY has run, the commit never comes
    await db.query(`CREATE FUNCTION ${table}_die() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER die BEFORE INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_die()`);
    const rows = Array.from({ length: 500 }, (_, i) => row({ id: `crash${i}`, delay: i % 100 }));
    const refuse = async () => {
      throw new Error('nothing is refused');
    };
    try {
      await assert.rejects(writer.write(batchOf(rows, BigInt(before!)), refuse));
    } finally {
      await db.query(`DROP TRIGGER die ON ${table}`);
      await db.query(`DROP FUNCTION ${table}_die()`);
    }
    assert.equal(await position(), before, 'the position did not move');
    const { rows: after1 } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    assert.equal(after1[0]!.n, counted[0]!.n, 'no row of the lost transaction');

    const outcome = await writer.write(batchOf(rows, BigInt(before!), true), refuse);
    assert.deepEqual(outcome, { durable: offset, written: 500, refused: 0 });
    // a retry of the same batch (its commit's answer lost, say) writes nothing more
    assert.deepEqual(await writer.write(batchOf(rows, BigInt(before!), true), refuse), {
      durable: offset,
      written: 0,
      refused: 0,
    });
    const { rows: crashed } = await db.query<{ n: string; ids: string }>(
      `SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${table} WHERE id LIKE 'crash%'`,
    );
    assert.deepEqual(crashed[0], { n: '500', ids: '500' });
    assert.equal(await position(), String(offset));
  });
});
