import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flightsToClickHouse, flightsToPostgres } from '../samples-flights.ts';
import { checkSpec } from './spec.ts';

describe('sink spec defaults', () => {
  test('a ClickHouse sink retries at least every 5 s through an outage, a Postgres sink every 30 s', () => {
    assert.deepEqual(checkSpec(flightsToClickHouse).retry, { initialMs: 200, maxMs: 5_000 });
    assert.deepEqual(checkSpec(flightsToPostgres).retry, { initialMs: 200, maxMs: 30_000 });
  });

  test('a spec that names its back-off keeps it', () => {
    assert.deepEqual(checkSpec({ ...flightsToClickHouse, retry: { maxMs: 60_000 } }).retry, {
      initialMs: 200,
      maxMs: 60_000,
    });
  });
});
