import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createApp } from '../../api/app.ts';
import { serviceChecks } from '../../api/readiness.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/registry.ts';

describe('API health resources', () => {
  const clickhouse = createClickHouse('default');
  const postgres = createPostgresPool(1);
  const deps = { kafka: createKafka('millrace-test'), registry: new Registry(), clickhouse, postgres };
  after(() => Promise.all([clickhouse.close(), postgres.end()]));

  it('/readyz reports each real service ready', async () => {
    const app = createApp({ log: createLogger('test'), checks: serviceChecks(deps) });
    const response = await app.request('/readyz');
    assert.equal(response.status, 200);
    assert.ok(response.headers.get('x-request-id'));
    assert.deepEqual(await response.json(), {
      status: 'ready',
      services: { kafka: { ok: true }, registry: { ok: true }, clickhouse: { ok: true }, postgres: { ok: true } },
    });
  });

  it('/readyz is 503 and names the service that does not answer', async () => {
    const app = createApp({
      log: createLogger('test'),
      checks: { ...serviceChecks(deps), registry: () => new Registry('http://127.0.0.1:1/apis/ccompat/v7').subjects().then(() => undefined) },
    });
    const response = await app.request('/readyz');
    assert.equal(response.status, 503);
    const body = (await response.json()) as { services: Record<string, { ok: boolean; error?: string }> };
    assert.equal(body.services.registry?.ok, false);
    assert.ok(body.services.registry?.error);
    assert.equal(body.services.kafka?.ok, true);
  });

  it('unknown routes get a JSON 404 with the request id', async () => {
    const app = createApp({ log: createLogger('test'), checks: {} });
    const response = await app.request('/nope', { headers: { 'x-request-id': 'req-123' } });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: 'not_found', message: 'no route for GET /nope', request_id: 'req-123' });
  });
});
