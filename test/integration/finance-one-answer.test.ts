/**
 * One answer: a statement's probabilities are the same doubles, to the bit, wherever they are read:
 * the prediction API's response, the pipeline's record on the scored topic, Postgres, ClickHouse,
 * and the API's listing once the pipeline's row has replaced the API's own. 600 statements (the
 * finance tests' generated set) go through the API, which scores each alone, then through the
 * finance-scoring processor, which scores them in batches, and both sinks. The two hops that could
 * round on their own are also checked apart: the ClickHouse sink with 100,000 doubles, and
 * Postgres's text of double precision.
 *
 * The processor runs under a group of its own from the end of finance.statements.raw as it was
 * before the test and writes to a topic of its own, so another finance pipeline on the shared
 * services cannot score these statements for it; the Postgres sink upserts into finance_scores as
 * the live one does (the API reads it), the ClickHouse sink into a copy of finance_scores.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import type { App } from '../../api/app.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { composeApi } from '../../api/compose.ts';
import { scoresToClickHouse, scoresToPostgres } from '../../connectors/sinks/finance-scores.ts';
import { startSink, withOverrides, writerFor } from '../../connectors/sinks/index.ts';
import type { RunningSink } from '../../connectors/sinks/runtime/run.ts';
import { defineSink } from '../../connectors/sinks/runtime/spec.ts';
import { isoDay, STATEMENTS_TOPIC } from '../../connectors/sources/finance-bulk/statements.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { loadConfig } from '../../core/config.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { provisionTopics, registerSchemas } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { resolveTopic } from '../../core/topic-checks.ts';
import { financeScoring } from '../../processors/finance/index.ts';
import { processorGroupOf, runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { STATEMENT_AMOUNTS, type ScoreRecord } from '../../schemas/records/finance.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import { statements } from '../../testkit/finance-statements.ts';
import { eventually } from '../../testkit/helpers.ts';
import { readCommitted } from '../../testkit/processor-helpers.ts';

const schemas = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const suffix = randomBytes(4).toString('hex');
const tenant = `one-${suffix}`;
const chTable = `test_one_answer_${suffix}`;
const floatTable = `test_floats_${suffix}`;
const scoredTopic = `test.one_answer_${suffix}.scored`;
const processorName = `finance-scoring-${suffix}`;
const sinkSpecs = [
  withOverrides(scoresToPostgres, { topic: scoredTopic, name: `${scoresToPostgres.name}-${suffix}` }),
  withOverrides(scoresToClickHouse, {
    topic: scoredTopic,
    table: chTable,
    name: `${scoresToClickHouse.name}-${suffix}`,
  }),
];

const kafka = createKafka('millrace-test');
const registry = new Registry();
const clickhouse = createClickHouse();
const db = createPostgresPool(6);
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
let app: App;

/** The figures a score carries, each a double that must be the same wherever it is read. */
const FIGURES = [
  'probability',
  'ohlson_probability',
  'zmijewski_probability',
  'altman_probability',
  'altman_z',
] as const;
type Figures = Record<(typeof FIGURES)[number], number>;
const figures = (row: Partial<Record<(typeof FIGURES)[number], unknown>>): Figures =>
  Object.fromEntries(FIGURES.map((f) => [f, Number(row[f])])) as Figures;

/** Per field, how many statements `read` holds a different double for than `answer` (a missing one counts). */
function differences(answer: ReadonlyMap<string, Figures>, read: ReadonlyMap<string, Figures>) {
  const byField = Object.fromEntries(FIGURES.map((f) => [f, 0])) as Record<(typeof FIGURES)[number], number>;
  let statements = 0;
  for (const [id, expected] of answer) {
    const got = read.get(id);
    const differing = FIGURES.filter((f) => !got || !Object.is(got[f], expected[f]));
    for (const f of differing) byField[f]++;
    if (differing.length > 0) statements++;
  }
  return { statements, byField };
}

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    { log: createLogger('test') },
  ).app;
  await createTenant(db, tenant);
  const scored = resolveTopic(
    {
      name: scoredTopic,
      partitions: 3,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema: 'finance.statements.scored.avsc',
    },
    schemas,
  );
  await provisionTopics(kafka, [scored]);
  await registerSchemas(registry, [scored]);
  await clickhouse.command({ query: `CREATE TABLE ${chTable} AS finance_scores` });
});

after(async () => {
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${chTable}` });
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${floatTable}` });
  const groups = [processorGroupOf(processorName), ...sinkSpecs.map((s) => `millrace.sink.${s.name}`)];
  await admin.deleteGroups(groups).catch(() => undefined);
  await admin.deleteTopics({ topics: [scoredTopic, dlqTopicOf(scoredTopic)] }).catch(() => undefined);
  await Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close(), db.end()]);
});

describe('one answer', () => {
  it(
    "the API's response, its listing, the scored topic, Postgres and ClickHouse hold the same doubles for 600 statements",
    { timeout: 300_000 },
    async () => {
      // the processor's group starts where the statements topic ends now: it scores what the test publishes
      const ends = await admin.fetchTopicOffsets(STATEMENTS_TOPIC);
      await admin.setOffsets({
        groupId: processorGroupOf(processorName),
        topic: STATEMENTS_TOPIC,
        partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
      });

      const producerKey = (await createKey(db, tenant, 'producer')).key;
      const readerKey = (await createKey(db, tenant, 'reader')).key;
      const records = statements(`one-${suffix}`, 600, tenant);
      const answers = new Map<string, Figures>();
      // through the API, six at a time, before the processor runs: it then meets them in batches
      const queue = records.entries();
      const submit = async () => {
        for (const [i, record] of queue) {
          const response = await app.request(`/v1/predictions/${record.period}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${producerKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              company_id: `co-${i}`,
              period_end: isoDay(record.period_end),
              ...Object.fromEntries(STATEMENT_AMOUNTS.map((a) => [a, record[a]])),
            }),
          });
          assert.equal(response.status, 201, await response.clone().text());
          const body = (await response.json()) as Figures & { id: string };
          answers.set(body.id, figures(body));
        }
      };
      await Promise.all(Array.from({ length: 6 }, submit));
      assert.equal(answers.size, records.length);

      const scoring = financeScoring({ input: STATEMENTS_TOPIC, output: scoredTopic });
      let processor: RunningProcessor | undefined;
      let sinks: RunningSink[] = [];
      try {
        processor = await runProcessor({ ...scoring, name: processorName }, { kafka, registry });
        sinks = await Promise.all(sinkSpecs.map((spec) => startSink(spec, { kafka, registry })));
        // the API wrote its own row at once (source offset -1): wait for the pipeline's on each
        await eventually(
          "the pipeline's scores in Postgres",
          async () => {
            const { rows } = await db.query<{ n: string }>(
              'SELECT count(*) AS n FROM finance_scores WHERE tenant_id = $1 AND source_offset >= 0',
              [tenant],
            );
            return Number(rows[0]!.n) === records.length ? true : undefined;
          },
          180_000,
        );
        await eventually(
          'the scores in ClickHouse',
          async () => {
            const [row] = await (
              await clickhouse.query({
                query: `SELECT uniqExact(id) AS n FROM ${chTable} WHERE tenant_id = ${quoteString(tenant)}`,
                format: 'JSONEachRow',
              })
            ).json<{ n: string }>();
            return Number(row!.n) === records.length ? true : undefined;
          },
          180_000,
        );
      } finally {
        await Promise.all([processor?.stop(), ...sinks.map((s) => s.stop())]);
        await scoring.close();
      }

      const columns = `id, ${FIGURES.join(', ')}`;
      const topic = new Map<string, Figures>();
      for (const record of await readCommitted(kafka, scoredTopic)) {
        const { value } = await registry.decode<ScoreRecord>(record.value);
        if (value.tenant_id === tenant) topic.set(value.id, figures(value));
      }
      const { rows: pgRows } = await db.query<Figures & { id: string }>(
        `SELECT ${columns} FROM finance_scores WHERE tenant_id = $1`,
        [tenant],
      );
      const chRows = await (
        await clickhouse.query({
          query: `SELECT ${columns} FROM ${chTable} FINAL WHERE tenant_id = ${quoteString(tenant)}`,
          format: 'JSONEachRow',
        })
      ).json<Partial<Record<(typeof FIGURES)[number], unknown>> & { id: string }>();
      const listing = await app.request('/v1/predictions?limit=1000', {
        headers: { authorization: `Bearer ${readerKey}` },
      });
      assert.equal(listing.status, 200);
      const { predictions } = (await listing.json()) as { predictions: (Figures & { id: string })[] };

      const reads = {
        'the scored topic': topic,
        Postgres: new Map(pgRows.map((r) => [r.id, figures(r)])),
        ClickHouse: new Map(chRows.map((r) => [r.id, figures(r)])),
        "the API's listing": new Map(predictions.map((p) => [p.id, figures(p)])),
      };
      const found = Object.entries(reads).map(([where, read]) => ({ where, ...differences(answers, read) }));
      assert.deepEqual(
        found.filter((f) => f.statements > 0),
        [],
        `of ${answers.size} statements, the API's answer differs from ${found
          .map((f) => `${f.where} for ${f.statements} (${JSON.stringify(f.byField)})`)
          .join(', ')}`,
      );
    },
  );
});

/** Doubles across what the sinks write: bit patterns of every magnitude, probabilities down to 1e-300, z-scores. */
function manyDoubles(count: number): number[] {
  // a fractional part below 1e-300 has no text 18.16 reads exactly (float-text.ts), and pg sends -0 as 0: neither is a score
  const inDomain = (v: number) => !Object.is(v, -0) && (Number.isInteger(v) || Math.abs(v) % 1 >= 1e-300);
  const arbitraries = [
    fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.integer({ min: -300, max: 0 }).chain((e) => fc.double({ min: 10 ** (e - 1), max: 10 ** e, noNaN: true })),
    fc.double({ min: -10, max: 10, noNaN: true }),
  ];
  return fc
    .sample(fc.oneof(...arbitraries), { numRuns: count * 2, seed: 1968 })
    .filter(inDomain)
    .slice(0, count);
}

describe('every hop keeps a double to the bit', () => {
  const values = manyDoubles(100_000);

  it('the ClickHouse sink: 100,000 doubles into Float64 and Nullable(Float64) come back the same', async () => {
    assert.equal(values.length, 100_000);
    await clickhouse.command({
      query: `CREATE TABLE ${floatTable} (id String, x Float64, y Nullable(Float64), _topic String, _partition UInt32, _offset UInt64)
        ENGINE = ReplacingMergeTree(_offset) ORDER BY id`,
    });
    const spec = defineSink<{ id: string; x: number; y: number | null }>({
      name: `floats-${suffix}`,
      topic: 'test.floats',
      target: 'clickhouse',
      table: floatTable,
      key: ['id'],
      columns: { id: (r) => r.id, x: (r) => r.x, y: (r) => r.y },
    });
    const writer = writerFor(spec, { clickhouse });
    await writer.check();
    const refused: Error[] = [];
    const rows = values.map((x, i) => ({
      offset: BigInt(i),
      cells: [String(i), x, i % 7 === 0 ? null : -x],
      source: {
        topic: 'test.floats',
        partition: 0,
        message: { key: null, value: null, headers: {}, offset: String(i) },
      },
    }));
    const outcome = await writer.write(
      {
        clusterId: 'test',
        topic: 'test.floats',
        partition: 0,
        start: 0n,
        next: BigInt(rows.length),
        rows,
        verify: false,
      },
      async (_, error) => void refused.push(error),
    );
    assert.deepEqual(refused, []);
    assert.equal(outcome.written, values.length);
    const stored = await (
      await clickhouse.query({ query: `SELECT id, x, y FROM ${floatTable}`, format: 'JSONEachRow' })
    ).json<{ id: string; x: number | string; y: number | string | null }>();
    assert.equal(stored.length, values.length);
    const off = stored.filter(({ id, x, y }) => {
      const i = Number(id);
      return !Object.is(Number(x), values[i]) || (i % 7 === 0 ? y !== null : !Object.is(Number(y), -values[i]!));
    });
    assert.deepEqual(
      off.slice(0, 5).map((r) => ({ sent: values[Number(r.id)], stored: r.x })),
      [],
      `${off.length} of ${values.length} rows hold another double`,
    );
  });

  it('Postgres: 100,000 doubles come back the same through the pool, whatever the server default', async () => {
    const roundTrip = async (pool: pg.Pool) => {
      const { rows } = await pool.query<{ v: number }>(
        'SELECT v FROM unnest($1::float8[]) WITH ORDINALITY AS t(v, i) ORDER BY i',
        [values],
      );
      return rows.filter((r, i) => !Object.is(r.v, values[i])).length;
    };
    assert.equal((await db.query('SHOW extra_float_digits')).rows[0].extra_float_digits, '3');
    assert.equal(await roundTrip(db), 0);
    // the hazard the pool's setting removes: a server or database whose default is 0 sends 15 digits
    const rounding = new pg.Pool({
      connectionString: loadConfig().POSTGRES_URL,
      max: 1,
      options: '-c extra_float_digits=0',
    });
    try {
      assert.ok((await roundTrip(rounding)) > values.length / 2);
    } finally {
      await rounding.end();
    }
  });
});
