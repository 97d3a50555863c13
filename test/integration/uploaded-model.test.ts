/**
 * From a tenant's own file to predictions, on the real services: vega-datasets cars uploaded as
 * JSON lines, datasets of them (miles per gallon: regression; origin: three classes), multilayer
 * perceptron jobs run by a trainer, the versions they register (graphs that take raw rows), and
 * online and batch predictions on raw rows equal to the in-process model trained again from the
 * same rows with the same seed (the same ONNX bytes, too). The regression beats the training mean
 * by a clear margin in R².
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { argMax } from '../../models/tabular/evaluation.ts';
import { predictRows, trainFromRows, type RowsTrainedModel } from '../../models/tabular/train-rows.ts';
import { startTrainer, type RunningTrainer } from '../../models/tabular/trainer.ts';
import { getUploadedDataset, rowsTrainingInput } from '../../models/tabular/uploaded-datasets.ts';
import { eventually, vegaDataFile } from '../../testkit/helpers.ts';
import { testApi, type TestApi } from '../../testkit/training-helpers.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const kafka = createKafka('millrace-test');
const deps = { db, clickhouse, kafka, registry: new Registry(), log: createLogger('test') };
const cars = JSON.parse(readFileSync(vegaDataFile('cars.json'), 'utf8')) as Record<string, unknown>[];
const NUMERIC = ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'];

interface Job {
  status: string;
  reason: string | null;
  model_id: string;
  model_version: string;
  params: Record<string, unknown>;
}
interface Manifest {
  kind: string;
  task: string;
  models: { file: string; sha256: string }[];
  metrics: { holdout: Record<string, number>; baseline: Record<string, number> };
}

describe("models trained on a tenant's uploaded file", () => {
  let api: TestApi;
  let trainer: RunningTrainer;
  let file: string;

  before(async () => {
    api = await testApi(deps, 'umodel');
    trainer = await startTrainer({ ...deps, groupId: `millrace-trainer-test-${randomBytes(4).toString('hex')}` });
    await trainer.joined;
    const sent = await api.call('/v1/training-files?filename=cars.jsonl', api.keys.analyst, {
      raw: cars.map((c) => JSON.stringify(c)).join('\n'),
      contentType: 'application/x-ndjson',
    });
    assert.equal(sent.status, 201, await sent.clone().text());
    file = ((await sent.json()) as { id: string }).id;
  });
  after(async () => {
    await trainer.stop();
    await db.query('DELETE FROM models WHERE id LIKE $1', [`${api.tenant}.%`]);
    await api.close();
    await Promise.all([db.end(), clickhouse.close()]);
  });

  /** Defines the dataset, trains it with the MLP through the API and a trainer; the job, its version's manifest, and the same training in process. */
  async function trainThrough(name: string, target: string, features: string[], task: string) {
    const defined = await api.call('/v1/training-datasets', api.keys.analyst, {
      body: { name, source: { file }, target, features, task },
    });
    assert.equal(defined.status, 201, await defined.clone().text());
    const queued = await api.call('/v1/training-jobs', api.keys.analyst, {
      body: { dataset: name, algorithm: 'mlp', params: { seed: 11, hidden: [16] } },
    });
    assert.equal(queued.status, 202, await queued.clone().text());
    const { id } = (await queued.json()) as { id: string };
    const job = await eventually(
      `job ${id} done`,
      async () => {
        const j = (await (await api.call(`/v1/training-jobs/${id}`, api.keys.reader)).json()) as Job;
        return j.status === 'succeeded' || j.status === 'failed' ? j : undefined;
      },
      120_000,
    );
    assert.equal(job.status, 'succeeded', job.reason ?? '');
    const manifest = (await (
      await api.call(`/v1/models/${job.model_id}/versions/${job.model_version}/files/manifest.json`, api.keys.reader)
    ).json()) as Manifest;
    const { max_categories, ...mlp } = job.params as { max_categories: number } & Record<string, unknown>;
    const dataset = await getUploadedDataset(db, api.tenant, name);
    const inProcess = await trainFromRows({
      ...(await rowsTrainingInput(clickhouse, dataset)),
      params: mlp,
      pipeline: { max_categories },
      meta: { id: job.model_id, version: job.model_version },
    });
    return { job, manifest, inProcess };
  }

  /** Raw rows as a client sends them: the file's own values, a missing horsepower included. */
  const rawRows = (features: string[]) =>
    cars.slice(0, 60).map((c) => Object.fromEntries(features.map((f) => [f, c[f] ?? null])));

  async function predictions(job: Job, rows: Record<string, unknown>[]) {
    const online = await api.call(`/v1/models/${job.model_id}/predict`, api.keys.reader, { body: { rows } });
    assert.equal(online.status, 200, await online.clone().text());
    const body = (await online.json()) as { version: string; predictions: Record<string, unknown>[] };
    assert.equal(body.version, job.model_version);
    const batch = await api.call(`/v1/models/${job.model_id}/batch`, api.keys.reader, {
      raw: rows.map((r) => JSON.stringify(r)).join('\n'),
      contentType: 'application/x-ndjson',
    });
    assert.equal(batch.status, 200);
    const lines = (await batch.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map(({ line, ...answer }) => [line, answer]),
      body.predictions.map((p, i) => [i + 1, p]),
      'batch scoring answers each line as online predictions do',
    );
    return body.predictions;
  }

  const sameGraph = (manifest: Manifest, trained: RowsTrainedModel) =>
    assert.equal(
      manifest.models[0]!.sha256,
      createHash('sha256').update(trained.onnx).digest('hex'),
      'the trainer exported the very graph an in-process run with the same seed exports',
    );

  it(
    'regression of miles per gallon: R² far above the mean predictor, predictions on raw rows equal to the in-process model',
    { timeout: 240_000 },
    async () => {
      const features = [...NUMERIC, 'Year', 'Origin'];
      const { job, manifest, inProcess } = await trainThrough('cars-mpg', 'Miles_per_Gallon', features, 'regression');
      assert.deepEqual([manifest.kind, manifest.task], ['tabular-mlp', 'regression']);
      const { holdout, baseline } = manifest.metrics;
      assert.ok(holdout.r2! > 0.75 && baseline.r2! < 0.05, `R² ${holdout.r2} against the mean's ${baseline.r2}`);
      assert.ok(holdout.rmse! < 0.6 * baseline.rmse!, `RMSE ${holdout.rmse} against ${baseline.rmse}`);
      sameGraph(manifest, inProcess);

      const rows = rawRows(features);
      assert.ok(
        rows.some((r) => r.Horsepower === null),
        'a row with a missing value is among them',
      );
      const expected = predictRows(inProcess, rows);
      const served = await predictions(job, rows);
      served.forEach((p, i) => {
        const value = p.prediction as number;
        assert.ok(
          Math.abs(value - expected[i]!) <= 1e-5 * Math.max(1, Math.abs(expected[i]!)),
          `row ${i}: ${value} vs ${expected[i]}`,
        );
      });
    },
  );

  it(
    'three classes of origin: each row gets the class and probabilities of the in-process model',
    { timeout: 240_000 },
    async () => {
      const { job, manifest, inProcess } = await trainThrough('cars-origin', 'Origin', NUMERIC, 'multiclass');
      assert.deepEqual([manifest.kind, manifest.task], ['tabular-mlp', 'multiclass']);
      assert.ok(
        manifest.metrics.holdout.accuracy! > manifest.metrics.baseline.accuracy!,
        JSON.stringify(manifest.metrics),
      );
      sameGraph(manifest, inProcess);

      const rows = rawRows(NUMERIC);
      const classes = inProcess.classes!;
      const expected = predictRows(inProcess, rows);
      const served = await predictions(job, rows);
      served.forEach((p, i) => {
        const probabilities = p.probabilities as Record<string, number>;
        classes.forEach((c, k) =>
          assert.ok(Math.abs(probabilities[c]! - expected[i * classes.length + k]!) <= 1e-5, `row ${i} class ${c}`),
        );
        assert.equal(p.label, classes[argMax(expected, i, classes.length)], `row ${i} label`);
      });
    },
  );

  it('refuses another algorithm on a file dataset, naming the one that takes raw rows', async () => {
    const refused = await api.call('/v1/training-jobs', api.keys.analyst, {
      body: { dataset: 'cars-mpg', algorithm: 'gradient_boosting' },
    });
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { message: string; field: string };
    assert.equal(body.field, 'algorithm');
    assert.match(body.message, /built from an uploaded file: it trains with algorithm mlp/);
  });
});
