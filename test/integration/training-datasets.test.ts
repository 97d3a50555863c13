/**
 * Training datasets over the API on real Postgres and ClickHouse: definitions from whitelists
 * only (a bad name is a 400 naming the field; values are escaped, never SQL), versions, the
 * schema with row count and label balance, and tenants kept apart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { DELAY_DATASET, insertFlights, ruledFlights, testApi, type TestApi } from '../../testkit/training-helpers.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const deps = {
  db,
  clickhouse,
  kafka: createKafka('millrace-test'),
  registry: new Registry(),
  log: createLogger('test'),
};

describe('training datasets', () => {
  let api: TestApi;
  let other: TestApi;
  const rows = () => ruledFlights(api.tenant, 2000);

  before(async () => {
    api = await testApi(deps, 'datasets');
    other = await testApi(deps, 'datasets-other');
    await insertFlights(clickhouse, rows());
  });
  after(async () => {
    await Promise.all([api.close(), other.close()]);
    await db.end();
    await clickhouse.close();
  });

  it('defines a dataset and shows its schema, row count and label balance', async () => {
    const created = await api.call('/v1/training-datasets', api.keys.analyst, {
      body: { name: 'delays', ...DELAY_DATASET },
    });
    assert.equal(created.status, 201, await created.clone().text());
    const body = (await created.json()) as {
      version: number;
      label: string;
      features: { name: string; kind: string }[];
    };
    assert.equal(body.version, 1);
    assert.equal(body.label, 'delay > 15');
    assert.deepEqual(
      body.features.map((f) => [f.name, f.kind]),
      [
        ['hour', 'numeric'],
        ['weekday', 'numeric'],
        ['distance', 'numeric'],
        ['origin', 'categorical'],
      ],
    );

    const shown = await api.call('/v1/training-datasets/delays', api.keys.reader);
    assert.equal(shown.status, 200);
    const stats = (await shown.json()) as {
      rows: number;
      label_balance: { positive: number; negative: number; positive_rate: number };
    };
    const positives = rows().filter((r) => (r.delay as number) > 15).length;
    assert.deepEqual(stats.label_balance, {
      positive: positives,
      negative: 2000 - positives,
      positive_rate: positives / 2000,
    });
    assert.equal(stats.rows, 2000);
  });

  it('the same definition again is the same version; a changed one is the next; filters narrow the rows', async () => {
    const same = await api.call('/v1/training-datasets', api.keys.analyst, {
      body: { name: 'delays', ...DELAY_DATASET },
    });
    assert.equal(same.status, 200);
    assert.equal(((await same.json()) as { version: number }).version, 1);
    const filter = [
      { column: 'origin', op: 'in', value: ['ORD', 'ATL'] },
      { column: 'distance', op: '>=', value: 500 },
    ];
    const changed = await api.call('/v1/training-datasets', api.keys.analyst, {
      body: { name: 'delays', ...DELAY_DATASET, filter },
    });
    assert.equal(changed.status, 201);
    assert.equal(((await changed.json()) as { version: number }).version, 2);
    const v2 = (await (await api.call('/v1/training-datasets/delays', api.keys.reader)).json()) as {
      version: number;
      rows: number;
    };
    assert.deepEqual(v2, {
      ...v2,
      version: 2,
      rows: rows().filter((r) => ['ORD', 'ATL'].includes(r.origin as string) && (r.distance as number) >= 500).length,
    });
    const v1 = (await (await api.call('/v1/training-datasets/delays?version=1', api.keys.reader)).json()) as {
      rows: number;
    };
    assert.equal(v1.rows, 2000);
  });

  it('refuses names outside the whitelists with a 400 naming the field, and escapes values', async () => {
    const refused = async (body: Record<string, unknown>, field: string, message: RegExp) => {
      const response = await api.call('/v1/training-datasets', api.keys.analyst, {
        body: { name: 'bad', ...DELAY_DATASET, ...body },
      });
      assert.equal(response.status, 400);
      const error = (await response.json()) as { field: string; message: string };
      assert.equal(error.field, field);
      assert.match(error.message, message);
    };
    await refused({ table: 'tenants' }, 'table', /unknown table; one of samples_flights/);
    await refused({ features: ['hour', 'tenant_id'] }, 'features.1', /unknown feature "tenant_id"/);
    await refused({ label: { column: 'delay; DROP TABLE x', op: '>', value: 1 } }, 'label.column', /unknown column/);
    await refused({ label: { column: 'delay', op: 'LIKE', value: 1 } }, 'label.op', /Invalid option/i);
    await refused(
      { filter: [{ column: 'distance', op: '>', value: '1 OR 1=1' }] },
      'filter.0.value',
      /distance is a number/,
    );
    await refused({ filter: [{ column: 'event_time', op: '>', value: 'yesterday' }] }, 'filter.0.value', /ISO 8601/);

    // a quote in a value is data: it matches nothing rather than changing the query
    const quoted = await api.call('/v1/training-datasets', api.keys.analyst, {
      body: { name: 'quoted', ...DELAY_DATASET, filter: [{ column: 'origin', op: '=', value: "ORD' OR '1'='1" }] },
    });
    assert.equal(quoted.status, 201);
    assert.equal(
      ((await (await api.call('/v1/training-datasets/quoted', api.keys.reader)).json()) as { rows: number }).rows,
      0,
    );
  });

  it('keeps tenants apart, and defining takes the analytics permission', async () => {
    const missing = await other.call('/v1/training-datasets/delays', other.keys.reader);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { message: string }).message, /no training dataset "delays"/);
    await other.call('/v1/training-datasets', other.keys.analyst, { body: { name: 'delays', ...DELAY_DATASET } });
    assert.equal(
      ((await (await other.call('/v1/training-datasets/delays', other.keys.reader)).json()) as { rows: number }).rows,
      0,
      "the other tenant's rows",
    );
    assert.equal(
      (await api.call('/v1/training-datasets', api.keys.reader, { body: { name: 'x', ...DELAY_DATASET } })).status,
      403,
    );
  });
});
