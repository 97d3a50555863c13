import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { infraStatus, infraUp, startService, stopService } from '../../infra/index.ts';

describe('local services (infra)', () => {
  it('a second up changes nothing: no service restarted', async () => {
    const before = await infraStatus();
    assert.ok(
      before.every((s) => s.health === 'up'),
      JSON.stringify(before),
    );
    const { started } = await infraUp();
    assert.deepEqual(started, []);
    const after = await infraStatus();
    assert.deepEqual(
      after.map((s) => [s.service, s.pid]),
      before.map((s) => [s.service, s.pid]),
    );
  });

  it('status names each service with its port, pid, health and version', async () => {
    const rows = await infraStatus();
    assert.deepEqual(rows.map((r) => r.service).sort(), ['clickhouse', 'kafka', 'postgres', 'registry']);
    for (const row of rows) {
      assert.ok(row.ports.length > 0 && row.pid !== null && row.version, JSON.stringify(row));
    }
    assert.match(rows.find((r) => r.service === 'kafka')!.version!, /^3\.9\./);
  });

  it('a stopped service comes back with its data', async () => {
    const client = createClickHouse('default');
    try {
      await client.command({
        query: 'CREATE TABLE IF NOT EXISTS infra_restart_probe (x String) ENGINE = MergeTree() ORDER BY x',
      });
      await client.command({ query: "INSERT INTO infra_restart_probe VALUES ('kept')" });
      await stopService('clickhouse');
      assert.equal((await infraStatus()).find((s) => s.service === 'clickhouse')?.health, 'down');
      assert.equal(await startService('clickhouse'), true);
      const result = await client.query({
        query: "SELECT count() AS n FROM infra_restart_probe WHERE x = 'kept'",
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ n: string }>();
      assert.ok(Number(row?.n) >= 1);
    } finally {
      await client.command({ query: 'DROP TABLE IF EXISTS infra_restart_probe' });
      await client.close();
    }
  });
});
