/** `millrace train text-classifier` as a user runs it: real movie titles in, an ONNX model and its manifest out. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'millrace.js');
const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, 'train', ...args]);

function moviesCsv(dir: string): string {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  const movies = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'data', 'movies.json'), 'utf8')) as {
    Title: unknown;
    'Major Genre': string | null;
  }[];
  const lines = movies
    .filter((m) => typeof m.Title === 'string' && m['Major Genre'])
    .map((m) => `${JSON.stringify(String(m.Title)).replace(/;/g, ',')};${m['Major Genre']}`);
  const file = path.join(dir, 'movies.csv');
  writeFileSync(file, `title;genre\r\n${lines.join('\r\n')}\r\n`);
  return file;
}

describe('millrace train text-classifier', () => {
  it('trains on a semicolon CSV and writes model.onnx with a manifest naming its sha256, labels and held-out quality', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-train-'));
    const out = path.join(dir, 'genre');
    const { stdout } = await run(
      'text-classifier',
      '--data',
      moviesCsv(dir),
      '--text',
      'title',
      '--label',
      'genre',
      '--out',
      out,
      '--dimensions',
      '16384',
      '--epochs',
      '3',
      '--version',
      '1.0.0',
    );
    assert.match(stdout, /trained genre@1\.0\.0 on 2916 rows \(0 skipped\), 12 labels; held-out accuracy 0\.\d+/);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      sha256: string;
      labels: string[];
      dimensions: number;
      training: { heldOut: { rows: number } };
    };
    assert.equal(
      manifest.sha256,
      createHash('sha256')
        .update(readFileSync(path.join(out, 'model.onnx')))
        .digest('hex'),
    );
    assert.equal(manifest.labels.length, 12);
    assert.ok(manifest.labels.includes('Drama'));
    assert.equal(manifest.dimensions, 16384);
    assert.equal(manifest.training.heldOut.rows, Math.ceil(2916 / 5));
  });

  it('names a column the file does not have', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-train-'));
    await assert.rejects(
      run(
        'text-classifier',
        '--data',
        moviesCsv(dir),
        '--text',
        'name',
        '--label',
        'genre',
        '--out',
        path.join(dir, 'x'),
      ),
      /has no column "name"/,
    );
  });
});

/** cars.json as a CSV file: numbers as text, a missing value as an empty field. */
function carsCsv(dir: string): string {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  const cars = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'data', 'cars.json'), 'utf8')) as Record<
    string,
    string | number | null
  >[];
  const columns = Object.keys(cars[0]!);
  const field = (v: string | number | null) =>
    v === null ? '' : typeof v === 'string' ? JSON.stringify(v) : String(v);
  const file = path.join(dir, 'cars.csv');
  writeFileSync(
    file,
    [columns.join(','), ...cars.map((car) => columns.map((c) => field(car[c]!)).join(','))].join('\n'),
  );
  return file;
}

describe('millrace train tabular', () => {
  it('trains the MLP on a CSV of cars (missing horsepowers) and writes model.onnx with its manifest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-train-'));
    const out = path.join(dir, 'mpg');
    const { stdout } = await run(
      'tabular',
      '--data',
      carsCsv(dir),
      '--target',
      'Miles_per_Gallon',
      '--task',
      'regression',
      '--features',
      'Cylinders:numeric,Displacement:numeric,Horsepower:numeric,Weight_in_lbs:numeric,Acceleration:numeric,Year:timestamp,Origin:categorical',
      '--id-column',
      'Name',
      '--out',
      out,
      '--version',
      '1',
    );
    assert.match(stdout, /trained mpg@1 \(mlp regression, layers 9-32-16-1\) on \d+ rows, \d+ held out, 8 skipped/);
    const [, r2] = /held out: mae [\d.]+, rmse [\d.]+, r2 ([\d.-]+)/.exec(stdout)!;
    const [, baselineR2] = /baseline \(training mean\): mae [\d.]+, rmse [\d.]+, r2 ([\d.-]+)/.exec(stdout)!;
    assert.ok(Number(r2) >= 0.75 && Number(baselineR2) <= 0, stdout);
    assert.match(stdout, /max \|diff\| [\d.e-]+, 0 label mismatches/);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      models: { file: string; sha256: string }[];
      task: string;
      inputs: { name: string }[];
    };
    assert.equal(
      manifest.models[0]!.sha256,
      createHash('sha256')
        .update(readFileSync(path.join(out, 'model.onnx')))
        .digest('hex'),
    );
    assert.equal(manifest.task, 'regression');
    assert.equal(manifest.inputs.length, 7);
  });

  it('names a feature kind it does not know', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-train-'));
    await assert.rejects(
      run(
        'tabular',
        '--data',
        carsCsv(dir),
        '--target',
        'Origin',
        '--task',
        'multiclass',
        '--features',
        'Cylinders:int',
      ),
      /--features: "Cylinders:int" is not COL:KIND/,
    );
  });
});
