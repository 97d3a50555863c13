import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createClickHouse } from '../../core/clickhouse.ts';
import { sqlValue } from '../../core/clickhouse-sql.ts';

describe('ClickHouse literals against the real server', () => {
  it('hostile strings come back exactly as sent', async () => {
    const client = createClickHouse('default');
    const values = [
      "it's",
      'back\\slash',
      "\\'; DROP TABLE users; --",
      'line\nbreak\r\ttab',
      'nul\0byte',
      '☃ ünïcödé 🚀',
      '',
      "''''",
      '\\\\\\',
    ];
    try {
      for (const value of values) {
        const result = await client.query({ query: `SELECT ${sqlValue(value)} AS v`, format: 'JSONEachRow' });
        const [row] = await result.json<{ v: string }>();
        assert.equal(row?.v, value);
      }
      const numbers = await client.query({
        query: `SELECT ${sqlValue(-5)} - ${sqlValue(-3)} AS d, ${sqlValue(1.25)} AS f`,
        format: 'JSONEachRow',
      });
      const [row] = await numbers.json<{ d: string | number; f: number }>();
      assert.equal(Number(row?.d), -2);
      assert.equal(row?.f, 1.25);
    } finally {
      await client.close();
    }
  });

  it('random unicode strings, including control characters, round-trip through the server', async () => {
    const client = createClickHouse('default');
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'grapheme', maxLength: 80 }),
          fc.string({ unit: 'binary-ascii', maxLength: 40 }),
          async (a, b) => {
            const value = a + b;
            const result = await client.query({ query: `SELECT ${sqlValue(value)} AS v`, format: 'JSONEachRow' });
            const [row] = await result.json<{ v: string }>();
            return row?.v === value;
          },
        ),
        { numRuns: 300, seed: 42 },
      );
    } finally {
      await client.close();
    }
  });
});
