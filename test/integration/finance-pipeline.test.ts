/**
 * The finance pipeline on real services: statements in, the scoring processor (ONNX, in batches),
 * both sinks; every valid statement's score lands in Postgres and ClickHouse as the scorer computes
 * it, and a statement that would divide by zero is in the DLQ naming the field.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { scoresToClickHouse, scoresToPostgres } from '../../connectors/sinks/finance-scores.ts';
import { startSink, withOverrides } from '../../connectors/sinks/index.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { readDlqContext } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { provisionTopics, registerSchemas } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import { resolveTopic } from '../../core/topic-checks.ts';
import { financeScoring } from '../../processors/finance/index.ts';
import { FinanceScorer } from '../../domain/finance/score.ts';
import { parseStatement } from '../../domain/finance/statement.ts';
import { runProcessor } from '../../processors/runtime/index.ts';
import { statements } from '../../testkit/finance-statements.ts';
import { eventually } from '../../testkit/helpers.ts';
import { readCommitted } from '../../testkit/processor-helpers.ts';

const schemas = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const suffix = randomBytes(4).toString('hex');
const table = `test_scores_${suffix}`;

async function topic(name: string, schema: string) {
  const resolved = resolveTopic(
    {
      name: `test.${name}_${suffix}.raw`,
      partitions: 3,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema,
    },
    schemas,
  );
  await provisionTopics(createKafka('millrace-test'), [resolved]);
  await registerSchemas(new Registry(), [resolved]);
  return resolved.name;
}

describe('finance pipeline', () => {
  after(async () => {
    const pg = createPostgresPool(1);
    const ch = createClickHouse();
    await pg.query(`DROP TABLE IF EXISTS ${table}`).finally(() => pg.end());
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).finally(() => ch.close());
  });

  it(
    'scores every valid statement into both databases and dead-letters the ones that divide by zero',
    { timeout: 180_000 },
    async () => {
      const kafka = createKafka('millrace-test');
      const registry = new Registry();
      const [input, output] = await Promise.all([
        topic('fin_in', 'finance.statements.raw.avsc'),
        topic('fin_out', 'finance.statements.scored.avsc'),
      ]);
      const pg = createPostgresPool(1);
      const ch = createClickHouse();
      await pg.query(`CREATE TABLE ${table} (LIKE finance_scores INCLUDING ALL)`);
      await ch.command({ query: `CREATE TABLE ${table} AS finance_scores` });

      const valid = statements(`stmt-${suffix}`, 1000);
      const broken = [
        { ...valid[0]!, id: `stmt-${suffix}-no-assets`, total_assets: 0 },
        { ...valid[1]!, id: `stmt-${suffix}-no-current-liabilities`, current_liabilities: 0 },
      ];
      const processor = await runProcessor(financeScoring({ input, output }), { kafka, registry });
      const sinks = await Promise.all(
        [scoresToPostgres, scoresToClickHouse].map((spec) =>
          startSink(withOverrides(spec, { topic: output, table, name: `${spec.name}-${suffix}` }), { kafka, registry }),
        ),
      );
      try {
        const producer = new AvroProducer(kafka, registry);
        await producer.connect();
        await producer.send(
          input,
          [...valid.slice(0, 500), ...broken, ...valid.slice(500)].map((value) => ({ value })),
        );
        await producer.disconnect();

        await eventually(
          '1000 scores in Postgres',
          async () => ((await pg.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n === '1000' ? true : undefined),
          120_000,
        );
        await eventually(
          '1000 scores in ClickHouse',
          async () => {
            const [row] = await (
              await ch.query({ query: `SELECT uniqExact(id) AS n FROM ${table}`, format: 'JSONEachRow' })
            ).json<{ n: string }>();
            return Number(row!.n) === 1000 ? true : undefined;
          },
          120_000,
        );

        const scorer = await FinanceScorer.load();
        const expected = await scorer.score(valid.map((s) => parseStatement(s)));
        await scorer.release();
        const { rows } = await pg.query<{
          id: string;
          probability: number;
          category: string;
          altman_zone: string;
          model_version: string;
        }>(`SELECT id, probability, category, altman_zone, model_version FROM ${table}`);
        const byId = new Map(rows.map((r) => [r.id, r]));
        valid.forEach((s, i) => {
          const stored = byId.get(s.id)!;
          assert.equal(stored.probability, expected[i]!.probability, `${s.id}: the scorer's probability`);
          assert.equal(stored.category, expected[i]!.category);
          assert.equal(stored.altman_zone, expected[i]!.altman_zone);
          assert.equal(stored.model_version, scorer.modelVersion);
        });
        const [sum] = await (
          await ch.query({ query: `SELECT sum(probability) AS p FROM ${table} FINAL`, format: 'JSONEachRow' })
        ).json<{ p: number }>();
        assert.ok(
          Math.abs(Number(sum!.p) - expected.reduce((t, e) => t + e.probability, 0)) < 1e-6,
          'ClickHouse holds the same probabilities',
        );
      } finally {
        await Promise.all([processor.stop(), ...sinks.map((s) => s.stop())]);
        await Promise.all([pg.end(), ch.close()]);
      }

      const dead = (await readCommitted(kafka, dlqTopicOf(input))).map((r) => ({
        key: r.key,
        ...readDlqContext(r.headers),
      }));
      assert.deepEqual(
        dead.map((d) => [d.key, d.errorClass, d.errorMessage.split(':')[0]]).sort(),
        [
          [`stmt-${suffix}-no-assets`, 'StatementInvalidError', 'total_assets'],
          [`stmt-${suffix}-no-current-liabilities`, 'StatementInvalidError', 'current_liabilities'],
        ],
        'each broken statement in the DLQ, naming the field',
      );
    },
  );
});
