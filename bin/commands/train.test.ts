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
