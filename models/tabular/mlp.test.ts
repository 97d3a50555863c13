/**
 * The multilayer perceptron behind its feature pipeline on real data (vega-datasets): cars.json
 * miles per gallon (regression; horsepower has nulls), cars.json origin (three classes), and
 * flights-10k.json delayed by more than 15 minutes (binary). Each run's held-out rows are scored
 * by ONNX Runtime from raw values and by the in-process model (trainFromRows fails when they
 * differ); here the agreement is checked again on rows with missing values and unseen categories.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { BinaryMetrics, MulticlassMetrics, RegressionMetrics } from './evaluation.ts';
import type { FeatureColumn, RawRow } from './feature-pipeline.ts';
import { EncodingError } from './encoding.ts';
import { PipelineSession } from './pipeline-session.ts';
import { onnxPredict, predictRows, trainFromRows, type RowsTrainedModel } from './train-rows.ts';
import { AGREEMENT_TOLERANCE } from './train.ts';

function vegaRows(name: string): RawRow[] {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'data', name), 'utf8')) as RawRow[];
}

const CAR_NUMBERS: FeatureColumn[] = [
  { name: 'Cylinders', kind: 'numeric' },
  { name: 'Displacement', kind: 'numeric' },
  { name: 'Horsepower', kind: 'numeric' },
  { name: 'Weight_in_lbs', kind: 'numeric' },
  { name: 'Acceleration', kind: 'numeric' },
  { name: 'Year', kind: 'timestamp' },
];
const CAR_FEATURES: FeatureColumn[] = [...CAR_NUMBERS, { name: 'Origin', kind: 'categorical' }];
const meta = { id: 'unit', version: '1' };

/** ONNX Runtime and the in-process model on raw rows: every value within tolerance, the same labels. */
async function assertSameAnswers(trained: RowsTrainedModel, rows: RawRow[]): Promise<void> {
  const inProcess = predictRows(trained, rows);
  const fromOnnx = await onnxPredict(trained.onnx, trained.pipeline, rows);
  const values = fromOnnx.prediction ?? fromOnnx.probabilities!;
  assert.equal(values.length, inProcess.length);
  inProcess.forEach((v, i) =>
    assert.ok(
      Math.abs(values[i]! - v) <= AGREEMENT_TOLERANCE * Math.max(1, Math.abs(v)),
      `value ${i}: ${values[i]} vs ${v}`,
    ),
  );
  if (trained.classes) {
    const k = trained.classes.length;
    rows.forEach((_, r) => {
      const probabilities = Array.from(inProcess.subarray(r * k, (r + 1) * k));
      assert.equal(
        fromOnnx.labels![r],
        trained.classes![probabilities.indexOf(Math.max(...probabilities))],
        `row ${r}`,
      );
    });
  }
}

describe('multilayer perceptron on vega-datasets', () => {
  const cars = vegaRows('cars.json');
  const carId = (row: RawRow) => `${String(row.Name)} ${String(row.Year)}`;

  describe('cars: miles per gallon (regression)', () => {
    let trained: RowsTrainedModel;
    before(async () => {
      trained = await trainFromRows({
        rows: cars,
        target: 'Miles_per_Gallon',
        features: CAR_FEATURES,
        task: 'regression',
        rowId: carId,
        meta,
      });
    });

    it('beats the training mean clearly on the held-out rows', () => {
      const metrics = trained.metrics as RegressionMetrics;
      const baseline = trained.baseline as RegressionMetrics;
      assert.ok(metrics.r2 >= 0.75, JSON.stringify(metrics));
      assert.ok(baseline.r2 <= 0, JSON.stringify(baseline));
      assert.ok(metrics.rmse < baseline.rmse / 2 && metrics.mae < baseline.mae / 2);
      // the 8 cars without a miles per gallon are skipped, the rest split about 4:1
      assert.equal(trained.skipped_rows, 8);
      assert.equal(trained.train_rows + trained.holdout_rows, cars.length - 8);
      assert.ok(trained.holdout_rows > 50 && trained.holdout_rows < 110, String(trained.holdout_rows));
    });

    it('ONNX Runtime gave the in-process prediction on every held-out row', async () => {
      assert.equal(trained.agreement.rows, trained.holdout_rows);
      assert.equal(trained.agreement.label_mismatches, 0);
      assert.ok(trained.agreement.max_abs_diff < 1e-3, String(trained.agreement.max_abs_diff));
      await assertSameAnswers(trained, cars);
    });

    it('predicts rows with missing numbers, an unseen origin and absent fields, the same in ONNX', async () => {
      const odd: RawRow[] = [
        { ...cars[0], Horsepower: null, Origin: 'Mars' },
        { Cylinders: 4, Weight_in_lbs: 2000, Year: '1982-01-01' },
        { Cylinders: '6', Displacement: '200', Horsepower: NaN, Origin: null, Year: Date.UTC(1975, 0, 1) },
        {},
      ];
      await assertSameAnswers(trained, odd);
      const [marsCar, usaCar] = [predictRows(trained, [odd[0]!])[0]!, predictRows(trained, [cars[0]!])[0]!];
      assert.ok(Number.isFinite(marsCar) && marsCar !== usaCar, `${marsCar} vs ${usaCar}`);
    });

    it('serves raw rows from model.onnx and the manifest alone; a bad value is a 400 naming its field', async () => {
      const manifest = JSON.parse(JSON.stringify(trained.manifest)) as typeof trained.manifest;
      const session = await PipelineSession.load(trained.onnx, manifest);
      try {
        const rows = [cars[1]!, { ...cars[2], Horsepower: null, Origin: 'Atlantis' }];
        const answers = await session.predict(rows);
        const inProcess = predictRows(trained, rows);
        answers.forEach((answer, i) => {
          assert.ok('prediction' in answer);
          assert.ok(Math.abs(answer.prediction - inProcess[i]!) < 1e-4, `${answer.prediction} vs ${inProcess[i]}`);
        });
        await assert.rejects(
          session.predict([cars[1]!, { ...cars[2], Horsepower: 'lots' }]),
          (error) => error instanceof EncodingError && error.status === 400 && error.field === 'rows.1.Horsepower',
        );
      } finally {
        await session.release();
      }
    });

    it('the manifest fragment says what the graph takes and gives', () => {
      const { manifest } = trained;
      assert.equal(manifest.kind, 'tabular-mlp');
      assert.deepEqual(
        manifest.inputs.map((i) => `${i.name}:${i.type}`),
        [...CAR_NUMBERS.map((f) => `${f.name}:float [N, 1]`), 'Origin:string [N, 1]'],
      );
      assert.deepEqual(manifest.outputs, [
        { name: 'prediction', type: 'float [N, 1]', description: 'Miles_per_Gallon' },
      ]);
      assert.deepEqual(JSON.parse(JSON.stringify(manifest.pipeline)), manifest.pipeline, 'JSON as it is');
      assert.ok(manifest.columns.includes('Origin=USA'));
      assert.equal(manifest.metrics.holdout, trained.metrics);
    });
  });

  it('cars: origin from the numbers (three classes) beats the majority class', async () => {
    const trained = await trainFromRows({
      rows: cars,
      target: 'Origin',
      features: CAR_NUMBERS,
      task: 'multiclass',
      rowId: carId,
      meta,
    });
    const metrics = trained.metrics as MulticlassMetrics;
    const baseline = trained.baseline as MulticlassMetrics;
    assert.deepEqual(trained.classes, ['Europe', 'Japan', 'USA']);
    assert.ok(metrics.accuracy >= baseline.accuracy + 0.05, `${metrics.accuracy} vs ${baseline.accuracy}`);
    assert.ok(metrics.macro_f1 > baseline.macro_f1 + 0.2 && metrics.log_loss < baseline.log_loss);
    assert.equal(trained.agreement.label_mismatches, 0);
    assert.equal(trained.agreement.rows, trained.holdout_rows);
    await assertSameAnswers(trained, cars.slice(0, 50));
    const session = await PipelineSession.load(trained.onnx, trained.manifest);
    try {
      const [answer] = await session.predict([cars[0]!]);
      assert.ok(answer && 'label' in answer);
      assert.deepEqual(Object.keys(answer.probabilities), ['Europe', 'Japan', 'USA']);
      const best = Object.entries(answer.probabilities).sort(([, a], [, b]) => b - a)[0]![0];
      assert.equal(answer.label, best);
      assert.ok(Math.abs(Object.values(answer.probabilities).reduce((s, p) => s + p, 0) - 1) < 1e-6);
    } finally {
      await session.release();
    }
  });

  it('flights: delayed more than 15 minutes from hour, distance and origin (binary), one-hot and hashed', async () => {
    const flights = vegaRows('flights-10k.json').map((f) => ({
      hour: Number(String(f.date).slice(11, 13)),
      distance: f.distance,
      origin: f.origin,
      delayed: Number(f.delay) > 15,
    }));
    for (const categorical_encoding of ['one_hot', 'hashing'] as const) {
      const trained = await trainFromRows({
        rows: flights,
        target: 'delayed',
        features: [
          { name: 'hour', kind: 'numeric' },
          { name: 'distance', kind: 'numeric' },
          { name: 'origin', kind: 'categorical' },
        ],
        task: 'binary',
        pipeline: { categorical_encoding },
        params: { max_epochs: 30 },
        meta,
      });
      const metrics = trained.metrics as BinaryMetrics;
      assert.deepEqual(trained.classes, ['false', 'true']);
      assert.ok(metrics.auc > 0.55, `${categorical_encoding}: AUC ${metrics.auc}`);
      assert.ok(metrics.log_loss < (trained.baseline as BinaryMetrics).log_loss, categorical_encoding);
      assert.equal(trained.agreement.rows, trained.holdout_rows);
      assert.equal(trained.agreement.label_mismatches, 0);
      await assertSameAnswers(trained, [{ hour: 7, distance: null, origin: 'XXX' }, {}]);
    }
  });

  it('the same seed gives the same ONNX bytes; another seed other weights', async () => {
    const run = (seed: number) =>
      trainFromRows({
        rows: cars,
        target: 'Miles_per_Gallon',
        features: CAR_FEATURES,
        task: 'regression',
        params: { seed, max_epochs: 20 },
        meta,
      });
    const [first, again, other] = [await run(7), await run(7), await run(8)];
    assert.deepEqual(first.onnx, again.onnx);
    assert.deepEqual(first.metrics, again.metrics);
    assert.notDeepEqual(first.onnx, other.onnx);
  });

  it('refuses a binary target without exactly two classes, or too few rows', async () => {
    await assert.rejects(
      trainFromRows({ rows: cars, target: 'Origin', features: CAR_NUMBERS, task: 'binary', meta }),
      /two classes; Origin has 3/,
    );
    await assert.rejects(
      trainFromRows({
        rows: cars.slice(0, 10),
        target: 'Miles_per_Gallon',
        features: CAR_NUMBERS,
        task: 'regression',
        meta,
      }),
      /at least 20 are needed/,
    );
  });
});
