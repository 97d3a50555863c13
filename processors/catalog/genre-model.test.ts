/** The genre model (ONNX, onnxruntime) answers as the TypeScript text classifier it was exported from. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { predict, train } from '../../models/text-classifier/model.ts';
import { exportOnnx } from '../../models/text-classifier/onnx.ts';
import { GenreModel } from './genre-model.ts';

const require = createRequire(import.meta.url);

describe('the text classifier exported to ONNX', () => {
  it('gives the TypeScript model’s probabilities (1e-5) and labels on held-out movie titles, in one batch', async () => {
    const entry = require.resolve('vega-datasets');
    const movies = (
      JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'data', 'movies.json'), 'utf8')) as {
        Title: unknown;
        'Major Genre': string | null;
      }[]
    )
      .filter((m) => typeof m.Title === 'string' && m['Major Genre'])
      .map((m) => ({ text: String(m.Title), label: m['Major Genre']! }));
    const model = train(
      movies.filter((_, i) => i % 5 !== 0),
      { dimensions: 1 << 14, epochs: 3 },
    );
    const held = movies.filter((_, i) => i % 5 === 0).map((m) => m.text);
    const onnxModel = await GenreModel.load(exportOnnx(model, { id: 'movies-genre', version: 'test' }), {
      id: 'movies-genre',
      version: 'test',
      labels: model.labels,
      dimensions: model.dimensions,
    });
    const scored = await onnxModel.predict(held);
    await onnxModel.release();
    assert.equal(scored.length, held.length);
    held.forEach((text, i) => {
      const expected = predict(model, text);
      assert.equal(scored[i]!.label, expected.label, text);
      expected.probabilities.forEach((p, c) =>
        assert.ok(Math.abs(scored[i]!.probabilities[c]! - p) < 1e-5, `${text}: class ${c}`),
      );
    });
  });
});
