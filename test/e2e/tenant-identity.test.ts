/**
 * A record's identity is (tenant_id, id), through every entry point of the running platform
 * (`millrace start`): the same id sent under two tenants over HTTP, with `millrace produce` and by a
 * Kafka producer is two rows in Postgres and in ClickHouse (FINAL), each tenant's own; so is a
 * financial statement id scored by the pipeline. Over HTTP the tenant is the credential's: a record
 * naming another tenant is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { statements } from '../../testkit/finance-statements.ts';
import { eventually, flights } from '../../testkit/helpers.ts';
import { cli, MillraceProcess } from '../../testkit/processor-helpers.ts';

const API_PORT = '18082';

/** Rows of `table` whose id starts with `prefix`, per (tenant, id): one figure each, from both databases. */
async function stored(table: string, prefix: string, figure: string) {
  const pg = createPostgresPool(1);
  const ch = createClickHouse();
  try {
    const { rows: inPostgres } = await pg.query<{ tenant_id: string; id: string; figure: number }>(
      `SELECT tenant_id, id, ${figure} AS figure FROM ${table} WHERE starts_with(id, $1) ORDER BY tenant_id, id`,
      [prefix],
    );
    const inClickHouse = await (
      await ch.query({
        query: `SELECT tenant_id, id, ${figure} AS figure FROM ${table} FINAL WHERE startsWith(id, ${quoteString(prefix)}) ORDER BY tenant_id, id`,
        format: 'JSONEachRow',
      })
    ).json<{ tenant_id: string; id: string; figure: number }>();
    return { postgres: inPostgres, clickhouse: inClickHouse.map((r) => ({ ...r, figure: Number(r.figure) })) };
  } finally {
    await Promise.all([pg.end(), ch.close()]);
  }
}

describe('tenant identity through the running platform', () => {
  it(
    'the same id under two tenants is two rows, over HTTP, millrace produce, Kafka and the finance pipeline',
    { timeout: 300_000 },
    async () => {
      const run = randomBytes(4).toString('hex');
      const db = createPostgresPool(1);
      const [a, b] = [`ti-a-${run}`, `ti-b-${run}`];
      const keys: Record<string, string> = {};
      try {
        for (const tenant of [a, b]) {
          await createTenant(db, tenant);
          keys[tenant] = (await createKey(db, tenant, 'producer')).key;
        }
      } finally {
        await db.end();
      }
      // one flight id per entry point; tenant b's copy flies 1 mile further, so each row shows whose it is
      const [base] = flights(1);
      const flight = (entry: string, tenant: string) => ({
        ...base!,
        id: `ti-${run}-${entry}`,
        tenant_id: tenant,
        distance: base!.distance + (tenant === b ? 1 : 0),
      });
      // in the order the check reads them: by tenant, then id
      const expected = [a, b].flatMap((tenant) =>
        ['cli', 'http', 'kafka'].map((entry) => ({
          tenant_id: tenant,
          id: `ti-${run}-${entry}`,
          figure: flight(entry, tenant).distance,
        })),
      );

      const start = new MillraceProcess(['start'], { API_PORT, METRICS_PORT: '0' });
      const kafka = createKafka('millrace-test');
      const producer = new AvroProducer(kafka, new Registry());
      try {
        await eventually(
          'the API answering',
          () =>
            fetch(`http://127.0.0.1:${API_PORT}/healthz`).then(
              (r) => r.ok || undefined,
              () => undefined,
            ),
          120_000,
        );
        for (const tenant of [a, b]) {
          const other = tenant === a ? b : a;
          const response = await fetch(`http://127.0.0.1:${API_PORT}/v1/topics/samples.flights.raw/records`, {
            method: 'POST',
            headers: { authorization: `Bearer ${keys[tenant]}`, 'content-type': 'application/json' },
            // the tenant is the credential's: a record naming another is refused, one naming none is the caller's
            body: JSON.stringify([
              { ...flight('http', tenant), id: `ti-${run}-http-forged`, tenant_id: other },
              { ...flight('http', tenant), tenant_id: undefined },
            ]),
          });
          assert.equal(response.status, 200, await response.clone().text());
          const body = (await response.json()) as { accepted: number; results: { field?: string }[] };
          assert.equal(body.accepted, 1, JSON.stringify(body));
          assert.equal(body.results[0]!.field, 'tenant_id', JSON.stringify(body));
        }
        execFileSync(process.execPath, [cli, 'produce', '--topic', 'samples.flights.raw'], {
          input: [a, b].map((tenant) => JSON.stringify(flight('cli', tenant))).join('\n'),
        });
        await producer.connect();
        await producer.send(
          'samples.flights.raw',
          [a, b].map((tenant) => ({ value: flight('kafka', tenant) })),
        );
        // the same 20 statement ids under both tenants, b's with other figures (so other scores)
        const prefix = `ti-${run}-fs`;
        const twins = statements(prefix, 40, b)
          .slice(20)
          .map((s, i) => ({ ...s, id: `${prefix}-${i}` }));
        await producer.send(
          'finance.statements.raw',
          [...statements(prefix, 20, a), ...twins].map((value) => ({ value })),
        );

        const flightsStored = await eventually(
          'six flights in both databases',
          async () => {
            const now = await stored('samples_flights', `ti-${run}-`, 'distance');
            return now.postgres.length >= 6 && now.clickhouse.length >= 6 ? now : undefined;
          },
          120_000,
        );
        assert.deepEqual(flightsStored.postgres, expected, 'Postgres: each tenant its own row, with its own figures');
        assert.deepEqual(
          flightsStored.clickhouse,
          expected,
          'ClickHouse: each tenant its own row, with its own figures',
        );

        const scores = await eventually(
          'forty scores in both databases',
          async () => {
            const now = await stored('finance_scores', `ti-${run}-fs-`, 'probability');
            return now.postgres.length >= 40 && now.clickhouse.length >= 40 ? now : undefined;
          },
          120_000,
        );
        for (const where of ['postgres', 'clickhouse'] as const) {
          const rows = scores[where];
          assert.equal(rows.length, 40, `${where}: 20 statement ids x 2 tenants`);
          assert.equal(new Set(rows.map((r) => `${r.tenant_id}/${r.id}`)).size, 40, `${where}: no (tenant, id) twice`);
          const byId = (tenant: string) =>
            new Map(rows.filter((r) => r.tenant_id === tenant).map((r) => [r.id, r.figure]));
          const [ofA, ofB] = [byId(a), byId(b)];
          assert.ok(
            [...ofA].some(([id, p]) => ofB.get(id) !== p),
            `${where}: the two tenants' statements under one id keep their own scores`,
          );
        }
      } finally {
        await producer.disconnect().catch(() => undefined);
        const { code } = await start.kill('SIGTERM');
        assert.equal(code, 0, 'start exits 0 on SIGTERM');
      }
    },
  );
});
