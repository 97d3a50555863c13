/**
 * The multilayer perceptron with its feature pipeline (models/tabular/train-rows.ts) on real data,
 * in memory, no services: vega-datasets cars.json miles per gallon (regression) and origin (three
 * classes), and the first N flights of flights-3m.parquet delayed by more than 15 minutes
 * (binary; hour, weekday, distance, origin, destination). Prints, per run, the held-out metrics
 * beside the baseline's (the training mean, or the majority class), the training time, the epochs
 * and ONNX Runtime's agreement with the in-process model on every held-out row.
 *
 * Run: node --import tsx bench/train-mlp.ts [--flights 50000] [--seed 1] [--hashing]
 */
import { parseArgs } from 'node:util';
import type { FeatureColumn, RawRow } from '../models/tabular/feature-pipeline.ts';
import { trainFromRows, type RowsTrainingOptions } from '../models/tabular/train-rows.ts';
import { parquetFlights } from '../testkit/flights-parquet.ts';
import { vegaDataFile } from '../testkit/helpers.ts';
import { readFile } from 'node:fs/promises';

const { values } = parseArgs({
  options: { flights: { type: 'string' }, seed: { type: 'string' }, hashing: { type: 'boolean' } },
});
const flightCount = Number(values.flights ?? 50_000);
const seed = Number(values.seed ?? 1);
const print = (line: string) => process.stdout.write(`${line}\n`);
const figure = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(3));
const shown = (metrics: object, keys: string[]) =>
  keys.map((k) => `${k} ${figure((metrics as Record<string, number>)[k]!)}`).join(', ');

async function run(title: string, options: Omit<RowsTrainingOptions, 'meta'>, keys: string[]): Promise<void> {
  const trained = await trainFromRows({
    ...options,
    params: { ...options.params, seed },
    pipeline: { categorical_encoding: values.hashing ? 'hashing' : 'one_hot' },
    meta: { id: 'bench-mlp', version: '1' },
  });
  print(`${title}`);
  print(
    `  ${trained.train_rows} training rows, ${trained.holdout_rows} held out, ${trained.skipped_rows} skipped; ${trained.manifest.columns.length} columns; layers ${[trained.model.layers[0]!.inputs, ...trained.model.layers.map((l) => l.outputs)].join('-')}; ${trained.model.epochs} epochs (best ${trained.model.best_epoch}); ${(trained.training_ms / 1000).toFixed(1)} s`,
  );
  print(`  held out: ${shown(trained.metrics, keys)}`);
  print(`  baseline: ${shown(trained.baseline, keys)}`);
  print(
    `  ONNX Runtime vs in-process on ${trained.agreement.rows} held-out rows: max |diff| ${trained.agreement.max_abs_diff.toExponential(2)}, ${trained.agreement.label_mismatches} label mismatches`,
  );
}

const cars = JSON.parse(await readFile(vegaDataFile('cars.json'), 'utf8')) as RawRow[];
const carNumbers: FeatureColumn[] = [
  { name: 'Cylinders', kind: 'numeric' },
  { name: 'Displacement', kind: 'numeric' },
  { name: 'Horsepower', kind: 'numeric' },
  { name: 'Weight_in_lbs', kind: 'numeric' },
  { name: 'Acceleration', kind: 'numeric' },
  { name: 'Year', kind: 'timestamp' },
];
const carId = (row: RawRow) => `${String(row.Name)} ${String(row.Year)}`;
await run(
  'cars.json: Miles_per_Gallon (regression) from cylinders, displacement, horsepower (6 missing), weight, acceleration, year, origin',
  {
    rows: cars,
    target: 'Miles_per_Gallon',
    features: [...carNumbers, { name: 'Origin', kind: 'categorical' }],
    task: 'regression',
    rowId: carId,
  },
  ['mae', 'rmse', 'r2'],
);
await run(
  'cars.json: Origin (3 classes) from the numeric columns',
  { rows: cars, target: 'Origin', features: carNumbers, task: 'multiclass', rowId: carId },
  ['accuracy', 'macro_f1', 'log_loss'],
);

const flights: RawRow[] = [];
for await (const chunk of parquetFlights(flightCount)) {
  for (const f of chunk) {
    const time = new Date(f.event_time);
    flights.push({
      id: f.id,
      hour: time.getUTCHours(),
      weekday: ((time.getUTCDay() + 6) % 7) + 1,
      distance: f.distance,
      origin: f.origin,
      destination: f.destination,
      delayed: f.delay > 15,
    });
  }
}
await run(
  `flights-3m.parquet, first ${flights.length}: delay > 15 min (binary) from hour, weekday, distance, origin, destination`,
  {
    rows: flights,
    target: 'delayed',
    features: [
      { name: 'hour', kind: 'numeric' },
      { name: 'weekday', kind: 'numeric' },
      { name: 'distance', kind: 'numeric' },
      { name: 'origin', kind: 'categorical' },
      { name: 'destination', kind: 'categorical' },
    ],
    task: 'binary',
    rowId: (row) => String(row.id),
  },
  ['accuracy', 'auc', 'log_loss', 'calibration_error'],
);
