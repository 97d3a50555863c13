/**
 * Shadow scoring on real Kafka, Postgres and ClickHouse, with real flights (vega-datasets) and three
 * versions of a delay model trained here on the first 5,000 of them. One model-scoring processor
 * runs throughout while the stream is scored by v1, v2 (activated), v1 again (rolled back), v1 with
 * v3 attached in shadow mode, and v1 once v3 is detached: every score names the version that
 * scored it, shadow scores are in ClickHouse and never on the public scored topic, and the
 * comparison endpoint counts exactly the records scored while the shadow was attached.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startSink, withOverrides } from '../../connectors/sinks/index.ts';
import { modelScoresToClickHouse, shadowScoresToClickHouse } from '../../connectors/sinks/model-scores.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { sqlValue } from '../../core/clickhouse-sql.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { metrics } from '../../core/metrics.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { provisionTopics, registerSchemas } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { resolveTopic } from '../../core/topic-checks.ts';
import { parseParams, predictInProcess, type Algorithm } from '../../models/tabular/algorithms.ts';
import { recordFeatures, recordLabel, TABLES, type DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import { saveDataset } from '../../models/tabular/training-datasets.ts';
import { encodedWidth, encodeInto } from '../../models/tabular/encoding.ts';
import { psi } from '../../models/drift.ts';
import { binaryMetrics } from '../../models/tabular/evaluation.ts';
import { trainOnDataset, type TrainedModel } from '../../models/tabular/train.ts';
import { buildManifest, registerTrained } from '../../models/tabular/version.ts';
import { modelScoring } from '../../processors/model-scoring/index.ts';
import { processorGroupOf, runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { eventually, flights, type Flight } from '../../testkit/helpers.ts';
import { produceFlights, readCommitted, waitForCommitted } from '../../testkit/processor-helpers.ts';
import { DELAY_DATASET, insertFlights, testApi, type TestApi } from '../../testkit/training-helpers.ts';
import type { ActiveScore, ShadowScore } from '../../schemas/records/model-scores.ts';

const schemas = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
const suffix = randomBytes(4).toString('hex');
const kafka = createKafka('millrace-test');
const registry = new Registry();
const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const log = createLogger('test');
const deps = { db, clickhouse, kafka, registry, log };

/** Throwaway topics with the schemas of the catalogue's flights topics, provisioned together. */
async function topics(...specs: [name: string, schema: string][]): Promise<string[]> {
  const resolved = specs.map(([name, schema]) =>
    resolveTopic(
      {
        name: `test.${name}_${suffix}.raw`,
        partitions: 3,
        cleanup: { policy: 'delete', retentionMs: 86_400_000 },
        schema,
      },
      schemas,
    ),
  );
  await provisionTopics(kafka, resolved);
  await registerSchemas(registry, resolved);
  return resolved.map((t) => t.name);
}

/** The model's probability of each flight, computed in-process from the trained model. */
function expected(trained: TrainedModel, definition: DatasetDefinition, records: readonly Flight[]): Float64Array {
  const width = encodedWidth(trained.encoding);
  const X = new Float32Array(records.length * width);
  records.forEach((f, i) => encodeInto(trained.encoding, recordFeatures(definition, { ...f }), X, i * width));
  return predictInProcess(trained.model, X, width);
}

describe('shadow scoring', () => {
  let api: TestApi;
  let other: TestApi;
  let modelId: string;
  let definition: DatasetDefinition;
  const trained: Record<string, TrainedModel> = {};
  const all = flights(10_000);

  before(async () => {
    api = await testApi(deps, 'shadow');
    other = await testApi(deps, 'shadow-other');
    const training = all.slice(0, 5000).map((f, i) => ({
      ...f,
      id: `${api.tenant}-train-${i}`,
      tenant_id: api.tenant,
      event_time: Math.floor(f.event_time / 1000),
      _topic: 'test',
      _partition: 0,
      _offset: i,
    }));
    await insertFlights(clickhouse, training);
    const dataset = await saveDataset(db, api.tenant, 'delays', DELAY_DATASET as DatasetDefinition);
    definition = dataset.definition;
    modelId = `${api.tenant}.delays`;
    const versions: [string, Algorithm, Record<string, unknown>][] = [
      ['1', 'logistic_regression', {}],
      ['2', 'gradient_boosting', { trees: 40 }],
      ['3', 'gradient_boosting', { trees: 80, max_depth: 4 }],
    ];
    for (const [version, algorithm, given] of versions) {
      const params = parseParams(algorithm, given);
      assert.ok(params.success);
      const model = await trainOnDataset({
        clickhouse,
        dataset,
        algorithm,
        params: params.data,
        meta: { id: modelId, version },
        progress: async () => {},
      });
      trained[version] = model;
      const lineage = {
        job_id: randomUUID(),
        tenant_id: api.tenant,
        dataset: { name: 'delays', version: dataset.version, definition },
        params: params.data,
        code_version: 'test',
      };
      await registerTrained(
        db,
        model.onnx,
        buildManifest(model, { id: modelId, version, description: 'shadow test', lineage }),
      );
    }
  });
  after(async () => {
    await db.query('DELETE FROM models WHERE id = $1', [modelId]);
    for (const table of ['model_scores', 'model_shadow_scores'])
      await clickhouse.command({ query: `ALTER TABLE ${table} DELETE WHERE tenant_id = ${sqlValue(api.tenant)}` });
    await Promise.all([api.close(), other.close()]);
    await Promise.all([db.end(), clickhouse.close()]);
  });

  it("computes a record's features as the training query computes them from its row", async () => {
    const table = TABLES[definition.table]!;
    const result = await clickhouse.query({
      query: `SELECT id, ${definition.features.map((f) => `${table.features[f]!.sql} AS ${f}`).join(', ')}, toUInt8(delay > 15) AS label
                FROM samples_flights FINAL WHERE tenant_id = ${sqlValue(api.tenant)} ORDER BY id LIMIT 500`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<Record<string, string | number>>();
    assert.equal(rows.length, 500);
    for (const row of rows) {
      const f = all[Number(String(row.id).split('-train-')[1])]!;
      assert.deepEqual(
        recordFeatures(definition, { ...f }),
        definition.features.map((name) => (table.features[name]!.kind === 'numeric' ? Number(row[name]) : row[name])),
        String(row.id),
      );
      assert.equal(recordLabel(definition, { ...f }), Number(row.label), `${row.id} label`);
    }
  });

  it(
    'activates, rolls back and shadows mid-stream: every score names its version, the comparison counts what the shadow scored',
    { timeout: 600_000 },
    async () => {
      const [input, output, shadow] = (await topics(
        ['flights_in', 'samples.flights.raw.avsc'],
        ['flights_scored', 'samples.flights.scored.avsc'],
        ['flights_shadow', 'samples.flights.shadow.avsc'],
      )) as [string, string, string];
      await api
        .call(`/v1/models/${modelId}/versions/1/activate`, api.keys.admin, { method: 'POST' })
        .then((r) => assert.equal(r.status, 200));

      const spec = modelScoring(modelId, { input, output, shadow });
      const group = processorGroupOf(spec.name);
      const sinks = await Promise.all([
        startSink(
          withOverrides(modelScoresToClickHouse, { name: `${modelScoresToClickHouse.name}-${suffix}`, topic: output }),
          { kafka, registry },
        ),
        startSink(
          withOverrides(shadowScoresToClickHouse, {
            name: `${shadowScoresToClickHouse.name}-${suffix}`,
            topic: shadow,
          }),
          { kafka, registry },
        ),
      ]);
      let processor: RunningProcessor | undefined;
      // phases of the stream: the versions expected to score them; another tenant's flights go through every phase unscored
      const phases = [
        { active: '1', shadows: [] as string[], size: 600 },
        { active: '2', shadows: [], size: 600 },
        { active: '1', shadows: [], size: 600 },
        { active: '1', shadows: ['3'], size: 1200 },
        { active: '1', shadows: [], size: 400 },
      ];
      const stream = all.slice(5000).map((f, i) => ({ ...f, id: `${api.tenant}-f${i}`, tenant_id: api.tenant }));
      const foreign = all.slice(9500).map((f, i) => ({ ...f, id: `${other.tenant}-f${i}`, tenant_id: other.tenant }));
      const phaseOf = new Map<string, number>();
      try {
        processor = await runProcessor(spec, { kafka, registry });
        let at = 0;
        let produced = 0;
        for (const [n, phase] of phases.entries()) {
          if (n === 1) await api.call(`/v1/models/${modelId}/versions/2/activate`, api.keys.admin, { method: 'POST' });
          if (n === 2) await api.call(`/v1/models/${modelId}/versions/1/activate`, api.keys.admin, { method: 'POST' });
          if (n === 3) {
            const attached = await api.call(`/v1/models/${modelId}/versions/3/shadow`, api.keys.admin, {
              method: 'POST',
            });
            assert.equal(attached.status, 200, await attached.clone().text());
          }
          if (n === 4)
            assert.equal(
              (await api.call(`/v1/models/${modelId}/versions/3/shadow`, api.keys.admin, { method: 'DELETE' })).status,
              200,
            );
          if (n > 0) {
            await eventually(
              `the processor on ${JSON.stringify(phase)}`,
              () => {
                const inUse = spec.versions();
                return inUse?.active === phase.active && inUse.shadows.join() === phase.shadows.join()
                  ? true
                  : undefined;
              },
              30_000,
            );
          }
          const records = stream.slice(at, at + phase.size);
          at += phase.size;
          records.forEach((r) => phaseOf.set(r.id, n));
          const others = foreign.slice(n * 20, n * 20 + 20);
          await produceFlights(kafka, registry, input, [...records, ...others], 200, 50);
          produced += records.length + others.length;
          await waitForCommitted(kafka, group, input, produced);
        }
        const scoredCount = at;

        // the public topic: one score per flight of the model's tenant, named by the version of its phase, none by the shadow
        const published = await Promise.all(
          (await readCommitted(kafka, output)).map(async (r) => (await registry.decode<ActiveScore>(r.value)).value),
        );
        assert.equal(
          published.length,
          scoredCount,
          'one public score per flight of the tenant, none for the other tenant',
        );
        assert.equal(new Set(published.map((s) => s.id)).size, scoredCount);
        const byId = new Map(stream.map((f) => [f.id, f]));
        for (const version of ['1', '2']) {
          const mine = published.filter((s) => s.model_version === version);
          const want = expected(
            trained[version]!,
            definition,
            mine.map((s) => byId.get(s.id)!),
          );
          mine.forEach((s, i) =>
            assert.ok(Math.abs(s.probability - want[i]!) < 1e-5, `${s.id}: version ${version}'s probability`),
          );
        }
        for (const s of published) {
          assert.equal(
            s.model_version,
            phases[phaseOf.get(s.id)!]!.active,
            `${s.id} scored by the active version of its phase`,
          );
          assert.equal(s.actual, byId.get(s.id)!.delay > 15 ? 1 : 0);
        }
        assert.ok(!published.some((s) => s.model_version === '3'), 'no shadow score on the public topic');

        // the shadow topic: exactly the flights of the shadow phase, each beside the active score of the same flight
        const shadowPhase = stream.filter((f) => phaseOf.get(f.id) === 3);
        const shadowed = await Promise.all(
          (await readCommitted(kafka, shadow)).map(async (r) => (await registry.decode<ShadowScore>(r.value)).value),
        );
        assert.deepEqual(shadowed.map((s) => s.id).sort(), shadowPhase.map((f) => f.id).sort());
        const publicById = new Map(published.map((s) => [s.id, s]));
        const want3 = expected(
          trained['3']!,
          definition,
          shadowed.map((s) => byId.get(s.id)!),
        );
        shadowed.forEach((s, i) => {
          assert.equal(s.model_version, '3');
          assert.ok(Math.abs(s.probability - want3[i]!) < 1e-5, `${s.id}: version 3's probability`);
          assert.deepEqual(
            [s.active_version, s.active_probability, s.active_label],
            ['1', publicById.get(s.id)!.probability, publicById.get(s.id)!.label],
          );
        });

        // the histogram the drift alert watches: every score under its model and version (a retried batch would count twice)
        const observed = async (version: string) => {
          const { values } = await metrics.modelProbability.get();
          const of = (suffix: string) =>
            values.find(
              (v) =>
                v.metricName === `millrace_model_probability_${suffix}` &&
                v.labels.model === modelId &&
                v.labels.version === version,
            )?.value ?? 0;
          return { count: of('count'), sum: of('sum') };
        };
        for (const [version, scores] of [
          ['1', published.filter((s) => s.model_version === '1')],
          ['3', shadowed],
        ] as const) {
          const { count, sum } = await observed(version);
          assert.ok(
            count >= scores.length && count > 0,
            `version ${version}: ${count} observed, ${scores.length} scores`,
          );
          assert.ok(sum >= scores.reduce((t, s) => t + s.probability, 0) - 1e-6, `version ${version}: sum ${sum}`);
        }

        // ClickHouse: every score, the shadow's in their own table
        const count = async (table: string, where = '') => {
          const [row] = await (
            await clickhouse.query({
              query: `SELECT count() AS n FROM ${table} FINAL WHERE tenant_id = ${sqlValue(api.tenant)} ${where}`,
              format: 'JSONEachRow',
            })
          ).json<{ n: string }>();
          return Number(row!.n);
        };
        await eventually(
          'every score in ClickHouse',
          async () =>
            (await count('model_scores')) === scoredCount && (await count('model_shadow_scores')) === shadowPhase.length
              ? true
              : undefined,
          120_000,
        );
        assert.equal(await count('model_scores', "AND model_version = '3'"), 0);

        // the comparison: exactly the records scored while the shadow was attached, its figures from the same scores
        const response = await api.call(`/v1/models/${modelId}/versions/3/comparison`, api.keys.reader);
        assert.equal(response.status, 200, await response.clone().text());
        const comparison = (await response.json()) as {
          records: number;
          active_versions: { version: string; records: number }[];
          agreement: number;
          mean_abs_probability_diff: number;
          active: { accuracy: number; auc: number; log_loss: number };
          shadow: { accuracy: number; auc: number; log_loss: number };
          delta: { accuracy: number; auc: number; log_loss: number };
        };
        assert.equal(comparison.records, shadowPhase.length);
        assert.deepEqual(comparison.active_versions, [{ version: '1', records: shadowPhase.length }]);
        const actual = shadowed.map((s) => s.actual);
        const activeMetrics = binaryMetrics(
          actual,
          shadowed.map((s) => s.active_probability),
        );
        const shadowMetrics = binaryMetrics(
          actual,
          shadowed.map((s) => s.probability),
        );
        const agreement = shadowed.filter((s) => s.label === s.active_label).length / shadowed.length;
        assert.ok(
          Math.abs(comparison.agreement - agreement) < 1e-12,
          `agreement ${comparison.agreement} vs ${agreement}`,
        );
        for (const metric of ['accuracy', 'auc', 'log_loss'] as const) {
          assert.ok(Math.abs(comparison.active[metric] - activeMetrics[metric]) < 1e-9, `active ${metric}`);
          assert.ok(
            Math.abs(comparison.delta[metric] - (shadowMetrics[metric] - activeMetrics[metric])) < 1e-9,
            `${metric} delta`,
          );
        }
        assert.ok(
          comparison.active.auc > 0.55 && comparison.shadow.auc > 0.55,
          `both models learnt something: AUC ${comparison.active.auc}, ${comparison.shadow.auc}`,
        );

        // drift: version 1's scores by month of the flights' time, each month's PSI against the first
        const v1 = published.filter((s) => s.model_version === '1');
        const months = new Map<string, typeof v1>();
        for (const score of v1) {
          const t = new Date(score.event_time);
          const month = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1)).toISOString();
          months.set(month, [...(months.get(month) ?? []), score]);
        }
        const bins = (scores: typeof v1) => {
          const counts = new Array<number>(10).fill(0);
          for (const score of scores) counts[Math.min(Math.floor(score.probability * 10), 9)]! += 1;
          return counts;
        };
        const starts = [...months.keys()].sort();
        const driftResponse = await api.call(`/v1/models/${modelId}/versions/1/drift?bucket=month`, api.keys.reader);
        assert.equal(driftResponse.status, 200, await driftResponse.clone().text());
        const { points } = (await driftResponse.json()) as {
          points: { start: string; rows: number; mean_probability: number; psi: number }[];
        };
        assert.deepEqual(
          points.map((p) => [p.start, p.rows]),
          starts.map((m) => [m, months.get(m)!.length]),
        );
        points.forEach((p, i) => {
          const scores = months.get(starts[i]!)!;
          const mean = scores.reduce((t, score) => t + score.probability, 0) / scores.length;
          assert.ok(Math.abs(p.mean_probability - mean) < 1e-9, `${p.start}: mean ${p.mean_probability} vs ${mean}`);
          const want = psi(bins(months.get(starts[0]!)!), bins(scores));
          assert.ok(Math.abs(p.psi - want) < 1e-9, `${p.start}: PSI ${p.psi} vs ${want}`);
        });
      } finally {
        await Promise.all([processor?.stop(), ...sinks.map((s) => s.stop())]);
        await spec.close();
      }
    },
  );

  it('refuses to shadow the active version, and keeps other tenants out', async () => {
    await api
      .call(`/v1/models/${modelId}/versions/1/activate`, api.keys.admin, { method: 'POST' })
      .then((r) => assert.equal(r.status, 200));
    const active = await api.call(`/v1/models/${modelId}/versions/1/shadow`, api.keys.admin, { method: 'POST' });
    assert.equal(active.status, 409);
    assert.match(((await active.json()) as { message: string }).message, /cannot shadow itself/);
    assert.equal(
      (await api.call(`/v1/models/${modelId}/versions/3/shadow`, api.keys.reader, { method: 'POST' })).status,
      403,
    );
    assert.equal(
      (await api.call(`/v1/models/${modelId}/versions/3/shadow`, api.keys.admin, { method: 'DELETE' })).status,
      404,
      'not attached',
    );
    for (const [url, method] of [
      [`/v1/models/${modelId}/versions/3/comparison`, 'GET'],
      [`/v1/models/${modelId}/versions/1/drift`, 'GET'],
      [`/v1/models/${modelId}/versions/3/shadow`, 'POST'],
    ] as const) {
      const foreign = await other.call(url, method === 'GET' ? other.keys.reader : other.keys.admin, { method });
      assert.equal(foreign.status, 404, `${method} ${url} by another tenant`);
    }
    assert.equal((await api.call(`/v1/models/${modelId}/versions/9/comparison`, api.keys.reader)).status, 404);
  });
});
