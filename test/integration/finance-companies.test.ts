/**
 * finance_companies (Postgres 0031) against the real Postgres: after any sequence of the writes
 * finance_scores sees (the sink's batch upserts, which may move a statement to another company or
 * period end; the API's inserts that keep an existing row; deletes of some rows; a tenant's erasure),
 * it holds exactly what counting finance_scores gives, and GET /v1/companies answers from it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createPostgresPool } from '../../core/postgres.ts';

const db = createPostgresPool(2);
after(() => db.end());
const run = randomBytes(3).toString('hex');

interface Row {
  id: number;
  company: number;
  day: number;
}
type Op =
  | { kind: 'upsert' | 'keep'; tenant: number; rows: Row[] }
  | { kind: 'delete'; tenant: number; ids: number[] }
  | { kind: 'erase'; tenant: number };

const row = fc.record({ id: fc.nat(11), company: fc.nat(3), day: fc.nat(5) });
const tenant = fc.nat(1);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('upsert' as const, 'keep' as const),
    tenant,
    rows: fc.array(row, { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    tenant,
    ids: fc.array(fc.nat(11), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('erase' as const), tenant }),
);

async function apply(tenants: string[], o: Op): Promise<void> {
  const t = tenants[o.tenant]!;
  if (o.kind === 'erase') {
    await db.query('DELETE FROM finance_scores WHERE tenant_id = $1', [t]);
    return;
  }
  if (o.kind === 'delete') {
    await db.query('DELETE FROM finance_scores WHERE tenant_id = $1 AND id = ANY($2)', [t, o.ids.map(String)]);
    return;
  }
  // one statement per batch, as the sink writes; a batch names each id once (ON CONFLICT's rule)
  const rows = [...new Map(o.rows.map((r) => [r.id, r])).values()];
  const values = rows.map(
    (_, i) =>
      `($${3 * i + 2}, $1, $${3 * i + 3}, DATE '2020-01-01' + $${3 * i + 4}::int, 'annual', 0.1, 0.1, 0.1, 1.0, 'grey', 0.1, 'low', 'm', '1', now(), 0, 0)`,
  );
  await db.query(
    `INSERT INTO finance_scores (id, tenant_id, company_id, period_end, kind, ohlson_probability, zmijewski_probability,
       altman_probability, altman_z, altman_zone, probability, category, model_id, model_version, scored_at, source_partition, source_offset)
     VALUES ${values.join(', ')}
     ON CONFLICT (tenant_id, id) DO ${o.kind === 'upsert' ? 'UPDATE SET company_id = EXCLUDED.company_id, period_end = EXCLUDED.period_end' : 'NOTHING'}`,
    [t, ...rows.flatMap((r) => [String(r.id), `c${r.company}`, r.day])],
  );
}

const summary = (tenants: string[]) =>
  db.query('SELECT * FROM finance_companies WHERE tenant_id = ANY($1) ORDER BY tenant_id, company_id', [tenants]);
const counted = (tenants: string[]) =>
  db.query(
    `SELECT tenant_id, company_id, count(*)::int AS statements, min(period_end) AS first_period_end, max(period_end) AS last_period_end
       FROM finance_scores WHERE tenant_id = ANY($1) GROUP BY tenant_id, company_id ORDER BY tenant_id, company_id`,
    [tenants],
  );

describe('finance_companies', () => {
  it('after any sequence of upserts, kept inserts, deletes and erasures, equals the count of finance_scores', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const tenants = [`fc-${run}-${n}-a`, `fc-${run}-${n++}-b`];
        try {
          for (const o of ops) {
            await apply(tenants, o);
            assert.deepEqual((await summary(tenants)).rows, (await counted(tenants)).rows, JSON.stringify(o));
          }
        } finally {
          await db.query('DELETE FROM finance_scores WHERE tenant_id = ANY($1)', [tenants]);
        }
        assert.equal((await summary(tenants)).rowCount, 0, 'nothing left once the rows are gone');
      }),
      { numRuns: 40 },
    );
  });
});
