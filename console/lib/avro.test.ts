import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldsOf, typeText } from './avro.ts';

describe('typeText', () => {
  it('names primitives, unions, logical types, containers, enums and nested records', () => {
    assert.equal(typeText('string'), 'string');
    assert.equal(typeText(['null', 'double']), 'null | double');
    assert.equal(typeText({ type: 'long', logicalType: 'timestamp-millis' }), 'long (timestamp-millis)');
    assert.equal(typeText({ type: 'array', items: 'string' }), 'array<string>');
    assert.equal(
      typeText({
        type: 'map',
        values: {
          type: 'record',
          name: 'AttributeValue',
          fields: [
            { name: 'value', type: 'string' },
            { name: 'rule', type: { type: 'enum', name: 'MatchRule', symbols: ['exact', 'fuzzy'] } },
          ],
        },
      }),
      'map<record AttributeValue {value: string, rule: enum MatchRule {exact, fuzzy}}>',
    );
    assert.equal(typeText({ type: 'string' }), 'string');
  });
});

describe('fieldsOf', () => {
  it("a record's fields; none for anything else", () => {
    assert.deepEqual(fieldsOf({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'string' }] }), [
      { name: 'id', type: 'string' },
    ]);
    assert.deepEqual(fieldsOf('string'), []);
  });
});
