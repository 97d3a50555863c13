import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluate } from '../../models/text-classifier/evaluate.ts';
import { train } from '../../models/text-classifier/model.ts';
import { exportOnnx } from '../../models/text-classifier/onnx.ts';
import { classifierContext, classifyBatch } from './classify.ts';
import { GenreModel } from './genre-model.ts';
import { ReferenceStore } from '../../domain/catalog/reference-store.ts';
import { AttributeMatcher, taxonomySchema } from '../../domain/catalog/taxonomy.ts';

const taxonomy = taxonomySchema.parse({
  genres: [
    'Drama',
    'Comedy',
    'Action',
    'Horror',
    'Adventure',
    'Thriller/Suspense',
    'Musical',
    'Romantic Comedy',
    'Documentary',
    'Black Comedy',
    'Western',
    'Concert/Performance',
  ],
  attributes: {
    colour: ['Blue', 'Dark Blue', 'Red', 'Black'],
    material: ['Aluminium', 'Oak', 'Stainless Steel'],
    weight: ['5 kg', '10 kg'],
  },
});

describe('taxonomy', () => {
  it('refuses duplicates and empty names, naming where', () => {
    const bad = taxonomySchema.safeParse({ genres: ['Drama', 'drama'], attributes: {} });
    assert.ok(!bad.success);
    assert.match(bad.error.issues[0]!.message, /genres must be distinct/);
    const emptyValue = taxonomySchema.safeParse({ genres: ['A'], attributes: { colour: ['Red', ' '] } });
    assert.ok(!emptyValue.success);
    assert.deepEqual(emptyValue.error.issues[0]!.path, ['attributes', 'colour', 1]);
  });

  it('finds attribute values exactly (longest phrase, unit spellings) and fuzzily (typos), not by accident', () => {
    const matcher = new AttributeMatcher(taxonomy);
    assert.deepEqual(matcher.match('Trail bike, DARK-BLUE frame, aluminium, 10kg'), {
      colour: { value: 'Dark Blue', rule: 'exact', score: 1 },
      material: { value: 'Aluminium', rule: 'exact', score: 1 },
      weight: { value: '10 kg', rule: 'exact', score: 1 },
    });
    const typo = matcher.match('stool in aluminum with a red seat');
    assert.equal(typo.material?.value, 'Aluminium');
    assert.equal(typo.material?.rule, 'fuzzy');
    assert.ok(typo.material!.score >= 0.8 && typo.material!.score < 1);
    assert.equal(typo.colour?.value, 'Red');
    assert.deepEqual(matcher.match('redwood shelf, 15 kg'), {}, 'no value inside another word, no 5kg in 15kg');
  });
});

describe('classifying a batch', () => {
  const require = createRequire(import.meta.url);
  const movies = (
    JSON.parse(
      readFileSync(path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'movies.json'), 'utf8'),
    ) as { Title: unknown; 'Major Genre': string | null }[]
  )
    .filter((m) => typeof m.Title === 'string' && m['Major Genre'])
    .map((m) => ({ text: String(m.Title), label: m['Major Genre']! }));
  const trainSet = movies.filter((_, i) => i % 5 !== 0);
  const test = movies.filter((_, i) => i % 5 === 0);
  let model: GenreModel;

  before(async () => {
    const trained = train(trainSet, { dimensions: 1 << 15, epochs: 6 });
    model = await GenreModel.load(exportOnnx(trained, { id: 'movies', version: '1' }), {
      id: 'movies',
      version: '1',
      labels: trained.labels,
      dimensions: trained.dimensions,
    });
  });
  after(() => model.release());

  it('asks the reference store when the model is unsure, and says who decided', async () => {
    const bare = classifierContext(taxonomy);
    const withReferences = classifierContext(
      taxonomy,
      new ReferenceStore(
        trainSet.map((m) => ({ text: m.text, genre: m.label })),
        1 << 15,
      ),
    );
    const rows = (context: typeof bare) => test.map((m) => ({ text: m.text, context }));
    const [alone, helped] = await Promise.all([
      classifyBatch(model, rows(bare)),
      classifyBatch(model, rows(withReferences)),
    ]);

    assert.ok(
      alone.every((c) => c.decided_by === 'model'),
      'without references the model decides',
    );
    const byReference = helped.filter((c) => c.decided_by === 'reference');
    assert.ok(byReference.length > 0, 'unsure rows went to the references');
    for (const c of byReference) assert.ok(taxonomy.genres.includes(c.genre!) && c.confidence > 0 && c.confidence <= 1);
    const confident = helped.filter((c) => c.decided_by === 'model' && c.confidence >= 0.6).length;
    assert.ok(confident > 0, 'confident rows stay with the model');
    const accuracy = (found: typeof alone) =>
      evaluate(
        test.map((m) => m.label),
        found.map((c) => c.genre ?? ''),
      ).accuracy;
    // a measurement, not a claim the references must win: both must beat chance over 12 genres
    assert.ok(
      accuracy(alone) > 1 / 12 && accuracy(helped) > 1 / 12,
      `model ${accuracy(alone)}, with references ${accuracy(helped)}`,
    );
  });

  it('leaves the genre empty when neither knows a genre of the taxonomy', async () => {
    const narrow = classifierContext(taxonomySchema.parse({ genres: ['Garden furniture'], attributes: {} }));
    const [c] = await classifyBatch(model, [{ text: 'Oak garden bench', context: narrow }]);
    assert.deepEqual(c, { genre: null, confidence: 0, decided_by: 'none', attributes: {} });
  });
});
