import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRebuild } from './clickhouse-rebuild.ts';

describe('REBUILD TABLE statements', () => {
  it('name the table and its new layout, across lines', () => {
    assert.deepEqual(parseRebuild('REBUILD TABLE samples_flights\n  ENGINE = MergeTree() ORDER BY (tenant_id, id)'), {
      table: 'samples_flights',
      layout: 'ENGINE = MergeTree() ORDER BY (tenant_id, id)',
    });
  });

  it('leave every other statement to ClickHouse', () => {
    assert.equal(parseRebuild('CREATE TABLE IF NOT EXISTS t (x String) ENGINE = Memory'), undefined);
    assert.equal(parseRebuild('REBUILD TABLE db.t ENGINE = Memory'), undefined, 'a table of another database');
    assert.equal(parseRebuild('REBUILD TABLE t'), undefined, 'no layout');
  });
});
