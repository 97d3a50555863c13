/** A version from labelled rows: the examples the rows make, what is refused, and the stepped training. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { train, trainInSteps } from './model.ts';
import { labelledExamples, trainVersion, TrainingDataError, type LabelledRow } from './version.ts';

async function* rowsOf(rows: LabelledRow[]): AsyncGenerator<LabelledRow> {
  yield* rows;
}

const movies = (() => {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return (
    JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'data', 'movies.json'), 'utf8')) as {
      Title: unknown;
      'Major Genre': string | null;
    }[]
  ).map((m, i) => ({ row: i + 1, values: { Title: String(m.Title ?? ''), Major_Genre: m['Major Genre'] ?? '' } }));
})();

describe('a text classifier version from labelled rows', () => {
  it('joins the text columns, skips unreadable and unlabelled rows, and names a missing column', async () => {
    const rows: LabelledRow[] = [
      ...movies.slice(0, 100),
      { row: 101, error: 'broken quoting' },
      { row: 102, values: { Title: 'Alien', Major_Genre: ' ' } },
    ];
    const { examples, skipped } = await labelledExamples(rowsOf(rows), { text: ['Title'], label: 'Major_Genre' }, 'x');
    const usable = movies.slice(0, 100).filter((m) => m.values.Title && m.values.Major_Genre);
    assert.equal(examples.length, usable.length);
    assert.equal(skipped, rows.length - usable.length);
    assert.deepEqual(examples[0], { text: usable[0]!.values.Title, label: usable[0]!.values.Major_Genre });
    await assert.rejects(
      labelledExamples(rowsOf(rows), { text: ['Title'], label: 'Genre' }, 'upload u'),
      (error: TrainingDataError) => error.message.startsWith('upload u has no column "Genre"') && error.status === 400,
    );
    await assert.rejects(
      labelledExamples(rowsOf(movies.slice(0, 12)), { text: ['Title'], label: 'Major_Genre' }, 'upload u'),
      /usable rows; at least 10 are needed/,
    );
  });

  it('trains in steps exactly as in one go, and refuses a model past its weight budget', async () => {
    const { examples } = await labelledExamples(rowsOf(movies), { text: ['Title'], label: 'Major_Genre' }, 'movies');
    const options = { dimensions: 1 << 12, epochs: 2, seed: 7 };
    const [stepped, whole] = [await trainInSteps(examples, options), train(examples, options)];
    assert.deepEqual(stepped.labels, whole.labels);
    assert.ok(Buffer.from(stepped.weights.buffer).equals(Buffer.from(whole.weights.buffer)), 'the same weights');
    await assert.rejects(
      trainVersion(examples, { id: 'm', version: '1', dimensions: 1 << 22, epochs: 1, data: 'movies', skipped: 0 }),
      /12 labels x 4194304 dimensions is past/,
    );
  });
});
