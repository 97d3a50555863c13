/** The one statement shape and finance.statements.raw's Avro schema agree, field for field and in order. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PERIOD_KINDS, STATEMENT_AMOUNTS } from './finance.ts';

const schema = JSON.parse(readFileSync(new URL('../finance.statements.raw.avsc', import.meta.url), 'utf8')) as {
  fields: { name: string; type: unknown }[];
};

describe('the statement shape', () => {
  it('is finance.statements.raw: the envelope, then the amounts in the models’ column order', () => {
    const names = schema.fields.map((f) => f.name);
    assert.deepEqual(names, [
      'id',
      'tenant_id',
      'event_time',
      'source',
      'company_id',
      'period',
      'period_end',
      ...STATEMENT_AMOUNTS,
    ]);
  });

  it('names the period kinds the schema’s enum allows', () => {
    const period = schema.fields.find((f) => f.name === 'period')!.type as { symbols: string[] };
    assert.deepEqual([...period.symbols].sort(), [...PERIOD_KINDS].sort());
  });
});
