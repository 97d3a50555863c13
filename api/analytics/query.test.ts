import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyticsSql, namedRows, normaliseQuery, rollupFor, type AnalyticsParams } from './query.ts';
import { ApiError } from '../errors.ts';

const fieldOf = (work: () => unknown): string | undefined => {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ApiError && error.status === 400, String(error));
    return error.field;
  }
  assert.fail('expected a 400');
};

describe('analytics queries', () => {
  it('normalises: distinct names, default metrics, filters sorted and grouped by dimension', () => {
    const q = normaliseQuery('finance_scores', {
      dimensions: 'category, kind,category',
      filter: ['kind:annual', 'category:low', 'category:high', 'category:low'],
      limit: 10,
    });
    assert.deepEqual(q.dimensions, ['category', 'kind']);
    assert.deepEqual(q.metrics, ['statements']);
    assert.deepEqual(q.filters, [
      ['category', ['high', 'low']],
      ['kind', ['annual']],
    ]);
    const reordered = normaliseQuery('finance_scores', {
      dimensions: 'category,kind',
      filter: ['category:high', 'kind:annual', 'category:low'],
      limit: 10,
    });
    assert.equal(analyticsSql(reordered, 't'), analyticsSql(q, 't'));
  });

  it('a 400 names the field: unknown dimension, metric, filter dimension, bucket of the view, reversed range', () => {
    assert.equal(
      fieldOf(() => normaliseQuery('flights', { dimensions: 'tenant_id', limit: 1 })),
      'dimensions',
    );
    assert.equal(
      fieldOf(() => normaliseQuery('flights', { metrics: 'sum(delay)', limit: 1 })),
      'metrics',
    );
    assert.equal(
      fieldOf(() => normaliseQuery('flights', { filter: 'tenant_id:other', limit: 1 })),
      'filter',
    );
    assert.equal(
      fieldOf(() => normaliseQuery('flights', { filter: 'origin', limit: 1 })),
      'filter',
    );
    assert.equal(
      fieldOf(() => normaliseQuery('finance_scores', { bucket: 'hour', limit: 1 })),
      'bucket',
    );
    assert.equal(
      fieldOf(() => normaliseQuery('flights', { dimensions: 'origin,destination,origin,x', limit: 1 })),
      'dimensions',
    );
    assert.equal(
      fieldOf(() => normaliseQuery('flights', { from: '2024-02-01', to: '2024-01-01', limit: 1 })),
      'to',
    );
  });

  it('builds one tenant-scoped SELECT with positional aliases and UTC buckets', () => {
    const q = normaliseQuery('flights', {
      dimensions: 'origin',
      metrics: 'flights,mean_delay',
      bucket: 'day',
      from: '2024-01-01T00:00:00Z',
      filter: "origin:O'Hare",
      limit: 5,
    });
    assert.equal(
      analyticsSql(q, "acme'", { rollups: false }),
      "SELECT toString(toStartOfDay(`event_time`, 'UTC'), 'UTC') AS t_bucket, `origin` AS d0, count() AS m0, avg(delay) AS m1\n" +
        'FROM samples_flights\n' +
        "WHERE tenant_id = 'acme\\''\n  AND `event_time` >= toDateTime(1704067200)\n  AND `origin` IN ('O\\'Hare')\n" +
        'GROUP BY t_bucket, d0\nORDER BY t_bucket, d0\nLIMIT 6',
    );
    // the same question fits the daily rollup by origin: from falls on a day
    assert.equal(
      analyticsSql(q, "acme'"),
      "SELECT toString(toStartOfDay(`day`, 'UTC'), 'UTC') AS t_bucket, `origin` AS d0, countMerge(flights) AS m0, sumMerge(delay_sum) / countMerge(flights) AS m1\n" +
        'FROM samples_flights_daily_origin\n' +
        "WHERE tenant_id = 'acme\\''\n  AND `day` >= toDateTime(1704067200)\n  AND `origin` IN ('O\\'Hare')\n" +
        'GROUP BY t_bucket, d0\nORDER BY t_bucket, d0\nLIMIT 6',
    );
    const offHour = normaliseQuery('flights', { from: '2024-01-01T00:30:00Z', limit: 1 });
    assert.equal(rollupFor(offHour), undefined);
    assert.match(analyticsSql(offHour, 't'), /FROM samples_flights\n/);
    // no rollup by route
    assert.equal(rollupFor(normaliseQuery('flights', { dimensions: 'destination', limit: 1 })), undefined);
    assert.equal(rollupFor(normaliseQuery('finance_scores', { limit: 1 })), undefined);
    // the coarsest rollup that fits
    const table = (params: Omit<AnalyticsParams, 'limit'>) =>
      rollupFor(normaliseQuery('flights', { ...params, limit: 1 }))?.table;
    assert.equal(table({ bucket: 'week', from: '2024-01-01', to: '2024-02-01' }), 'samples_flights_daily');
    assert.equal(table({ bucket: 'hour', from: '2024-01-01' }), 'samples_flights_hourly');
    assert.equal(table({ bucket: 'day', from: '2024-01-01T05:00:00Z' }), 'samples_flights_hourly');
    assert.equal(table({ filter: 'origin:SEA' }), 'samples_flights_daily_origin');
    assert.equal(table({ filter: 'origin:SEA', from: '2024-01-01T05:00:00Z' }), undefined);
    const dates = normaliseQuery('finance_scores', { bucket: 'month', from: '2024-01-15T10:00:00Z', limit: 1 });
    assert.match(
      analyticsSql(dates, 't'),
      /toString\(toStartOfMonth\(`period_end`\)\) AS t_bucket[\s\S]*`period_end` >= toDate\('2024-01-15'\)/,
    );
  });

  it('rows come back named, buckets as ISO instants, counts as numbers', () => {
    const q = normaliseQuery('flights', { dimensions: 'origin', metrics: 'flights', bucket: 'hour', limit: 5 });
    assert.deepEqual(namedRows(q, [{ t_bucket: '2024-01-01 13:00:00', d0: 'SEA', m0: '12' }]), [
      { bucket: '2024-01-01T13:00:00Z', origin: 'SEA', flights: 12 },
    ]);
    const d = normaliseQuery('finance_scores', { bucket: 'week', limit: 5 });
    assert.deepEqual(namedRows(d, [{ t_bucket: '2024-01-01', m0: 3 }]), [
      { bucket: '2024-01-01T00:00:00Z', statements: 3 },
    ]);
  });

  it('whatever a filter value holds, it appears in the SQL only inside its quoted literal', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (value) => {
        const query = normaliseQuery('flights', { filter: `origin:${value}`, limit: 1 });
        const sql = analyticsSql(query, 'acme', { rollups: false });
        const withoutLiterals = sql.replace(/'(?:[^'\\]|\\.)*'/g, "''");
        return (
          withoutLiterals ===
          "SELECT count() AS m0\nFROM samples_flights\nWHERE tenant_id = ''\n  AND `origin` IN ('')\nLIMIT 2"
        );
      }),
      { numRuns: 1000, seed: 42 },
    );
  });
});
