/** Training dataset definitions: names are checked against the table's own whitelists, never the prototype's. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { datasetDefinitionSchema } from './dataset-spec.ts';

const valid = {
  table: 'samples_flights',
  features: ['distance', 'origin'],
  label: { column: 'delay', op: '>', value: 15 },
};

const issues = (definition: unknown) => {
  const result = datasetDefinitionSchema.safeParse(definition);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('training dataset definitions', () => {
  it('accepts a definition over the whitelisted table, features and columns', () => {
    assert.deepEqual(issues(valid), []);
  });

  for (const name of ['valueOf', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    it(`refuses "${name}" as a table, a feature or a column, naming the field`, () => {
      assert.match(issues({ ...valid, table: name }).join('\n'), /^table: unknown table/);
      assert.match(issues({ ...valid, features: [name] }).join('\n'), /^features\.0: unknown feature/);
      assert.match(
        issues({ ...valid, label: { ...valid.label, column: name } }).join('\n'),
        /^label\.column: unknown column/,
      );
    });
  }
});
