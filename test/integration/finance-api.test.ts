/**
 * The finance API on real services, with the finance pipeline running in-process on the real
 * catalogue topics (finance.statements.raw -> finance-scoring -> finance.statements.scored -> the
 * Postgres and ClickHouse sinks): synchronous predictions (scored as the pipeline scores, 409 on a
 * second one, 400 naming the field), listings with cursor pages, and a bulk upload of 10,000 rows
 * with 50 bad ones that ends with 9,950 scores in both databases and 50 precise rejections.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../api/app.ts';
import { composeApi } from '../../api/compose.ts';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { scoresToClickHouse, scoresToPostgres } from '../../connectors/sinks/finance-scores.ts';
import { startSink } from '../../connectors/sinks/index.ts';
import type { RunningSink } from '../../connectors/sinks/runtime/run.ts';
import { Uploads } from '../../connectors/sources/uploads/uploads.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { quoteString } from '../../core/clickhouse-sql.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { financeScoring } from '../../processors/finance/index.ts';
import { FinanceScorer } from '../../domain/finance/score.ts';
import { parseStatement } from '../../domain/finance/statement.ts';
import { runProcessor, type RunningProcessor } from '../../processors/runtime/index.ts';
import { eventually } from '../../testkit/helpers.ts';

const kafka = createKafka('millrace-test');
const registry = new Registry();
const clickhouse = createClickHouse();
const db = createPostgresPool(6);
const producer = new AvroProducer(kafka, registry);
const admin = kafka.admin();
const log = createLogger('test');
let app: App;
let scorer: FinanceScorer;
let processor: RunningProcessor;
const scoring = financeScoring();
let sinks: RunningSink[] = [];

const run = randomBytes(3).toString('hex');
const tenants = { a: `fin-a-${run}`, b: `fin-b-${run}`, list: `fin-l-${run}`, bulk: `fin-k-${run}` };
const keys: Record<string, string> = {};

const call = (url: string, init: RequestInit & { key?: string } = {}) =>
  app.request(url, {
    ...init,
    headers: {
      ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
      'content-type': 'application/json',
      ...init.headers,
    },
  });
const post = (url: string, key: string, body: unknown) =>
  call(url, { method: 'POST', key, body: JSON.stringify(body) });

/** The id the API must give a statement: sha256 of tenant, company, period end and kind. */
const expectedId = (tenant: string, company: string, periodEnd: string, kind: string) =>
  `fs_${createHash('sha256')
    .update(JSON.stringify([tenant, company, periodEnd, kind]))
    .digest('hex')
    .slice(0, 32)}`;

const AMOUNTS = [
  'total_assets',
  'total_liabilities',
  'current_assets',
  'current_liabilities',
  'net_income',
  'net_income_prev',
  'funds_from_operations',
  'retained_earnings',
  'ebit',
  'market_value_equity',
  'sales',
] as const;
type Amounts = Record<(typeof AMOUNTS)[number], number>;

/** Deterministic statements across the range the models see: profitable and loss-making, over- and under-levered. */
function amountsGenerator(seed: number): () => Amounts {
  let s = seed;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return () => {
    const ta = 50 + r() * 5000;
    return {
      total_assets: round(ta),
      total_liabilities: round(ta * (0.2 + r() * 1.0)),
      current_assets: round(ta * (0.1 + r() * 0.5)),
      current_liabilities: round(ta * (0.05 + r() * 0.4)),
      net_income: round(ta * (r() * 0.2 - 0.08)),
      net_income_prev: round(ta * (r() * 0.2 - 0.08)),
      funds_from_operations: round(ta * (r() * 0.25 - 0.05)),
      retained_earnings: round(ta * (r() * 0.6 - 0.2)),
      ebit: round(ta * (r() * 0.25 - 0.05)),
      market_value_equity: round(ta * r() * 2),
      sales: round(ta * (0.3 + r() * 1.5)),
    };
  };
}
const nextAmounts = amountsGenerator(11);

async function expectedScore(kind: 'annual' | 'quarterly', amounts: Amounts) {
  const [score] = await scorer.score([parseStatement({ period: kind, ...amounts, price_level_index: 100 })]);
  return score!;
}

async function chQuery<T>(query: string): Promise<T[]> {
  return (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
}

before(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  const uploads = new Uploads(db, mkdtempSync(path.join(tmpdir(), 'millrace-uploads-')), producer, log);
  app = composeApi(
    loadConfig(),
    { kafka, registry, producer, admin, db, clickhouse },
    {
      log,
      uploads,
    },
  ).app;
  for (const [name, tenant] of Object.entries(tenants)) {
    await createTenant(db, tenant);
    keys[`${name}-producer`] = (await createKey(db, tenant, 'producer')).key;
    keys[`${name}-reader`] = (await createKey(db, tenant, 'reader')).key;
  }
  scorer = await FinanceScorer.load();
  // the pipeline, in-process, on the catalogue's topics and tables
  processor = await runProcessor(scoring, { kafka, registry });
  sinks = await Promise.all([
    startSink(scoresToPostgres, { kafka, registry }),
    startSink(scoresToClickHouse, { kafka, registry }),
  ]);
  await Promise.all([processor.joined, ...sinks.map((s) => s.joined)]);
});

after(async () => {
  await Promise.all([processor?.stop(), ...sinks.map((s) => s.stop())]);
  // the registry-following processor has a close(); the first one did not
  await (scoring as { close?: () => Promise<void> }).close?.();
  await scorer?.release();
  await Promise.all([producer.disconnect(), admin.disconnect(), clickhouse.close(), db.end()]);
});

describe('synchronous predictions', () => {
  const company = `acme-${run}`;
  const amounts = nextAmounts();
  let firstId = '';

  it(
    'scores a statement as the pipeline does, publishes it, and the pipeline upserts its score onto the same row',
    { timeout: 120_000 },
    async () => {
      const response = await post('/v1/predictions/annual', keys['a-producer']!, {
        company_id: company,
        period_end: '2024-12-31',
        ...amounts,
      });
      assert.equal(response.status, 201, await response.clone().text());
      const body = (await response.json()) as Record<string, unknown> & {
        id: string;
        probability: number;
        published: { topic: string; partition: number; offset: string };
      };
      const expected = await expectedScore('annual', amounts);
      firstId = body.id;
      assert.equal(body.id, expectedId(tenants.a, company, '2024-12-31', 'annual'));
      assert.equal(body.company_id, company);
      assert.equal(body.period_end, '2024-12-31');
      assert.equal(body.kind, 'annual');
      assert.equal(body.probability, expected.probability);
      for (const field of ['category', 'altman_zone', 'model_id', 'model_version'] as const)
        assert.equal(body[field], expected[field], field);
      assert.equal(body.published.topic, 'finance.statements.raw');

      // the API's row is there at once; the pipeline's lands on the same id (source_offset >= 0)
      const row = await eventually(
        "the pipeline's score on the API's row",
        async () => {
          const { rows } = await db.query<{ n: string; probability: number; source_offset: string }>(
            'SELECT count(*) OVER () AS n, probability, source_offset FROM finance_scores WHERE id = $1',
            [body.id],
          );
          return rows[0] && Number(rows[0].source_offset) >= 0 ? rows : undefined;
        },
        90_000,
      );
      assert.equal(row.length, 1);
      assert.equal(row[0]!.probability, expected.probability, 'the pipeline computed the same probability');
      const [ch] = await eventually('the score in ClickHouse', async () => {
        const rows = await chQuery<{ n: string; p: number }>(
          `SELECT count() AS n, any(probability) AS p FROM finance_scores FINAL WHERE id = ${quoteString(body.id)}`,
        );
        return Number(rows[0]?.n) === 1 ? rows : undefined;
      });
      assert.equal(ch!.p, expected.probability);

      const read = await call(`/v1/predictions/${body.id}`, { key: keys['a-reader'] });
      assert.equal(read.status, 200);
      assert.equal(((await read.json()) as { probability: number }).probability, body.probability);
    },
  );

  it('a second prediction for the same company, period end and kind is a 409 naming the first; another kind or tenant is not', async () => {
    const again = await post('/v1/predictions/annual', keys['a-producer']!, {
      company_id: company,
      period_end: '2024-12-31',
      ...nextAmounts(),
    });
    assert.equal(again.status, 409);
    const body = (await again.json()) as { error: string; message: string; id: string; request_id: string };
    assert.equal(body.error, 'conflict');
    assert.equal(body.id, firstId);
    assert.match(body.message, new RegExp(firstId));
    assert.ok(body.request_id);
    assert.equal(again.headers.get('location'), `/v1/predictions/${firstId}`);
    const { rows } = await db.query('SELECT id FROM finance_statements WHERE tenant_id = $1 AND company_id = $2', [
      tenants.a,
      company,
    ]);
    assert.deepEqual(rows, [{ id: firstId }]);

    const quarterly = await post('/v1/predictions/quarterly', keys['a-producer']!, {
      company_id: company,
      period_end: '2024-12-31',
      ...amounts,
    });
    assert.equal(quarterly.status, 201);
    const otherTenant = await post('/v1/predictions/annual', keys['b-producer']!, {
      company_id: company,
      period_end: '2024-12-31',
      ...amounts,
    });
    assert.equal(otherTenant.status, 201);
    assert.notEqual(((await otherTenant.json()) as { id: string }).id, firstId);
  });

  it('two identical requests at once: one 201, one 409', async () => {
    const statement = { company_id: `race-${run}`, period_end: '2023-06-30', ...nextAmounts() };
    const statuses = (
      await Promise.all([1, 2].map(() => post('/v1/predictions/quarterly', keys['a-producer']!, statement)))
    )
      .map((r) => r.status)
      .sort();
    assert.deepEqual(statuses, [201, 409]);
  });

  it('an invalid statement is a 400 naming the field, and claims nothing', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ total_assets: 0 }, 'total_assets', /must be > 0/],
      [{ current_liabilities: 0 }, 'current_liabilities', /must be > 0/],
      [{ market_value_equity: -1 }, 'market_value_equity', /must be >= 0/],
      [{ sales: 'lots' }, 'sales', /number/],
      [{ sales: undefined }, 'sales', /number/],
      [{ period_end: '2024-02-30' }, 'period_end', /real day/],
      [{ period_end: '31/12/2024' }, 'period_end', /YYYY-MM-DD/],
      [{ company_id: '' }, 'company_id', /./],
    ];
    for (const [change, field, message] of cases) {
      const response = await post('/v1/predictions/annual', keys['a-producer']!, {
        company_id: `bad-${run}`,
        period_end: '2024-12-31',
        ...amounts,
        ...change,
      });
      assert.equal(response.status, 400, JSON.stringify(change));
      const body = (await response.json()) as { error: string; message: string; field: string; request_id: string };
      assert.equal(body.field, field, JSON.stringify(body));
      assert.match(body.message, message);
      assert.ok(body.request_id);
    }
    const { rowCount } = await db.query('SELECT 1 FROM finance_statements WHERE tenant_id = $1 AND company_id = $2', [
      tenants.a,
      `bad-${run}`,
    ]);
    assert.equal(rowCount, 0);
    assert.equal(
      (
        await post('/v1/predictions/annual', keys['a-producer']!, {
          company_id: `bad-${run}`,
          period_end: '2024-12-31',
          ...amounts,
        })
      ).status,
      201,
    );
  });

  it('needs a key that may ingest', async () => {
    const statement = { company_id: `x-${run}`, period_end: '2024-12-31', ...amounts };
    assert.equal(
      (await call('/v1/predictions/annual', { method: 'POST', body: JSON.stringify(statement) })).status,
      401,
    );
    assert.equal((await post('/v1/predictions/annual', keys['a-reader']!, statement)).status, 403);
  });
});

describe('listings', () => {
  type Listed = { id: string; company_id: string; period_end: string; kind: string; category: string };
  const made: Listed[] = [];
  const companies = ['alpha', 'bravo', 'charlie'].map((c) => `${c}-${run}`);
  const periods = ['2023-03-31', '2023-06-30', '2023-09-30', '2023-12-31'];

  before(async () => {
    // alpha: 4 periods, bravo: 3, charlie: 2 (9 predictions), annual at year end
    for (const [i, company] of companies.entries()) {
      for (const period of periods.slice(0, 4 - i)) {
        const kind = period.endsWith('12-31') ? 'annual' : 'quarterly';
        const response = await post(`/v1/predictions/${kind}`, keys['list-producer']!, {
          company_id: company,
          period_end: period,
          ...nextAmounts(),
        });
        assert.equal(response.status, 201);
        made.push((await response.json()) as Listed);
      }
    }
  });

  async function all(
    url: string,
    key: string,
    field: 'predictions' | 'companies',
  ): Promise<{ items: Record<string, unknown>[]; pages: number }> {
    const items: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await call(
        `${url}${url.includes('?') ? '&' : '?'}limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { key },
      );
      assert.equal(response.status, 200);
      const body = (await response.json()) as Record<string, unknown> & { next_cursor: string | null };
      items.push(...(body[field] as Record<string, unknown>[]));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor && pages < 50);
    return { items, pages };
  }

  it('pages through every prediction of the tenant, newest period end first, each once', async () => {
    const { items, pages } = await all('/v1/predictions', keys['list-reader']!, 'predictions');
    assert.equal(pages, 3); // 9 predictions, 4 a page
    const order = [...made].sort((x, y) =>
      x.period_end === y.period_end ? (x.id < y.id ? 1 : -1) : x.period_end < y.period_end ? 1 : -1,
    );
    assert.deepEqual(
      items.map((p) => p.id),
      order.map((p) => p.id),
    );
    // another tenant sees none of them
    const other = await call('/v1/predictions', { key: keys['b-reader'] });
    const ids = new Set(((await other.json()) as { predictions: Listed[] }).predictions.map((p) => p.id));
    assert.ok(made.every((p) => !ids.has(p.id)));
  });

  it('filters by company, period (kind or period end) and category', async () => {
    const ids = async (query: string) =>
      (await all(`/v1/predictions?${query}`, keys['list-reader']!, 'predictions')).items.map((p) => p.id).sort();
    const expect = (keep: (p: Listed) => boolean) =>
      made
        .filter(keep)
        .map((p) => p.id)
        .sort();
    assert.deepEqual(
      await ids(`company=${companies[0]}`),
      expect((p) => p.company_id === companies[0]),
    );
    assert.deepEqual(
      await ids('period=annual'),
      expect((p) => p.kind === 'annual'),
    );
    assert.deepEqual(
      await ids('period=2023-06-30'),
      expect((p) => p.period_end === '2023-06-30'),
    );
    const category = made[0]!.category;
    assert.deepEqual(
      await ids(`category=${category}`),
      expect((p) => p.category === category),
    );
    assert.deepEqual(
      await ids(`company=${companies[1]}&period=quarterly`),
      expect((p) => p.company_id === companies[1] && p.kind === 'quarterly'),
    );
  });

  it('a bad cursor or filter is a 400 naming it', async () => {
    for (const [query, field] of [
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('["2023-01-01"]').toString('base64url')}`, 'cursor'],
      ['period=monthly', 'period'],
      ['category=dire', 'category'],
      ['limit=0', 'limit'],
    ]) {
      const response = await call(`/v1/predictions?${query}`, { key: keys['list-reader'] });
      assert.equal(response.status, 400, query);
      assert.equal(((await response.json()) as { field: string }).field, field, query);
    }
  });

  it('lists companies in pages with their latest prediction, and shows one', async () => {
    const { items, pages } = await all('/v1/companies', keys['list-reader']!, 'companies');
    assert.equal(pages, 1);
    assert.deepEqual(
      items.map((c) => [c.company_id, c.statements]),
      companies.map((c, i) => [c, 4 - i]),
    );
    const paged = await call('/v1/companies?limit=2', { key: keys['list-reader'] });
    const first = (await paged.json()) as { companies: { company_id: string }[]; next_cursor: string };
    assert.deepEqual(
      first.companies.map((c) => c.company_id),
      companies.slice(0, 2),
    );
    const rest = (await (
      await call(`/v1/companies?limit=2&cursor=${first.next_cursor}`, { key: keys['list-reader'] })
    ).json()) as { companies: { company_id: string }[]; next_cursor: string | null };
    assert.deepEqual(
      rest.companies.map((c) => c.company_id),
      companies.slice(2),
    );
    assert.equal(rest.next_cursor, null);

    const response = await call(`/v1/companies/${companies[0]}`, { key: keys['list-reader'] });
    assert.equal(response.status, 200);
    const detail = (await response.json()) as {
      statements: number;
      first_period_end: string;
      last_period_end: string;
      latest: { id: string };
      by_kind: Record<string, number>;
      by_category: Record<string, number>;
    };
    const latest = made.find((p) => p.company_id === companies[0] && p.period_end === '2023-12-31')!;
    assert.equal(detail.statements, 4);
    assert.equal(detail.first_period_end, '2023-03-31');
    assert.equal(detail.last_period_end, '2023-12-31');
    assert.equal(detail.latest.id, latest.id);
    assert.deepEqual(detail.by_kind, { annual: 1, quarterly: 3 });
    assert.equal(
      Object.values(detail.by_category).reduce((a, b) => a + b, 0),
      4,
    );

    assert.equal(
      (await call(`/v1/companies/${companies[0]}`, { key: keys['b-reader'] })).status,
      404,
      "another tenant's company",
    );
    assert.equal((await call('/v1/companies/nobody', { key: keys['list-reader'] })).status, 404);
  });
});

describe('bulk predictions', () => {
  const HEADER = ['company_id', 'period', 'period_end', ...AMOUNTS, 'price_level_index'];
  const quarterEnds = Array.from({ length: 20 }, (_, i) =>
    new Date(Date.UTC(2020 + Math.floor(i / 4), ((i % 4) + 1) * 3, 0)).toISOString().slice(0, 10),
  );

  /** 10,000 rows; rows 100, 300, ..., 9,900 are bad in ten ways, five of each; the rejection each must get. */
  function bulkFile(tenant: string) {
    const gen = amountsGenerator(29);
    const lines = [HEADER.join(',')];
    const rejections: { row_number: number; field: string | null; reason: string }[] = [];
    const good: { company: string; kind: 'annual' | 'quarterly'; periodEnd: string; amounts: Amounts }[] = [];
    const line = (
      company: string,
      kind: string,
      periodEnd: string,
      amounts: Record<string, number | string>,
      pli = '100',
    ) => [company, kind, periodEnd, ...AMOUNTS.map((a) => String(amounts[a])), pli].join(',');
    for (let n = 1; n <= 10_000; n++) {
      const amounts = gen();
      if (n % 200 !== 100) {
        const g = good.length;
        const quarter = Math.floor(g / 500);
        const statement = {
          company: `co-${g % 500}`,
          kind: quarter % 4 === 3 ? ('annual' as const) : ('quarterly' as const),
          periodEnd: quarterEnds[quarter]!,
          amounts,
        };
        good.push(statement);
        lines.push(line(statement.company, statement.kind, statement.periodEnd, amounts, g % 7 === 0 ? '' : '100'));
        continue;
      }
      const company = `bad-${n}`;
      const k = Math.floor(n / 200) % 10;
      const reject = (field: string | null, reason: string) => rejections.push({ row_number: n, field, reason });
      switch (k) {
        case 0:
          lines.push(line(company, 'annual', '2021-12-31', { ...amounts, total_assets: 0 }));
          reject('total_assets', 'total_assets: must be > 0: it divides another field');
          break;
        case 1:
          lines.push(line(company, 'annual', '2021-12-31', { ...amounts, sales: 'n/a' }));
          reject('sales', 'sales: expected a number, got "n/a"');
          break;
        case 2:
          lines.push(line(company, 'quarterly', '2023-02-30', amounts));
          reject('period_end', 'period_end: expected a real day as YYYY-MM-DD, got "2023-02-30"');
          break;
        case 3:
          lines.push(line(company, 'monthly', '2021-12-31', amounts));
          reject('period', 'period: expected annual or quarterly, got "monthly"');
          break;
        case 4:
          lines.push(line('', 'annual', '2021-12-31', amounts));
          reject('company_id', 'company_id: missing');
          break;
        case 5:
          lines.push(line(company, 'annual', '2021-12-31', amounts).split(',').slice(0, -1).join(','));
          reject(null, 'expected 15 fields, got 14');
          break;
        case 6:
          lines.push(line(company, 'annual', '2021-12-31', { ...amounts, current_liabilities: -5 }));
          reject('current_liabilities', 'current_liabilities: must be > 0: it divides another field');
          break;
        case 7: {
          const original = good.at(-1)!; // the row just before: a statement already submitted
          lines.push(line(original.company, original.kind, original.periodEnd, amounts));
          reject(
            null,
            `duplicate: the ${original.kind} statement of company "${original.company}" for ${original.periodEnd} was already submitted as ${expectedId(tenant, original.company, original.periodEnd, original.kind)}`,
          );
          break;
        }
        case 8:
          lines.push(line(company, 'annual', '2021-12-31', { ...amounts, market_value_equity: -1 }));
          reject('market_value_equity', 'market_value_equity: must be >= 0');
          break;
        case 9:
          lines.push(line(company, 'annual', '2021-12-31', { ...amounts, net_income: '' }));
          reject('net_income', 'net_income: missing');
          break;
      }
    }
    return { csv: `${lines.join('\r\n')}\r\n`, rejections, good };
  }

  it(
    '10,000 rows with 50 bad ones: a job at once, 9,950 scores in Postgres and ClickHouse, 50 precise rejections',
    { timeout: 420_000 },
    async () => {
      const { csv, rejections, good } = bulkFile(tenants.bulk);
      assert.equal(good.length, 9_950);
      assert.equal(rejections.length, 50);
      assert.ok(csv.length > 1024 * 1024, 'larger than the JSON body limit: bulk files have their own');

      const started = Date.now();
      const response = await call('/v1/predictions/bulk?filename=statements.csv', {
        method: 'POST',
        key: keys['bulk-producer'],
        body: csv,
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(response.status, 202, await response.clone().text());
      const job = (await response.json()) as {
        id: string;
        state: string;
        accepted: number;
        format: string;
        filename: string;
      };
      assert.ok(Date.now() - started < 10_000, 'answered before the rows are scored');
      assert.equal(response.headers.get('location'), `/v1/jobs/${job.id}`);
      assert.equal(job.format, 'csv');
      assert.equal(job.filename, 'statements.csv');
      assert.ok(['publishing', 'scoring'].includes(job.state));

      type Job = {
        state: string;
        accepted: number;
        scored: number;
        rejected: number;
        total_rows: number | null;
        rejections: unknown[];
        error: string | null;
      };
      const done = await eventually(
        'the job to complete',
        async () => {
          const body = (await (await call(`/v1/jobs/${job.id}`, { key: keys['bulk-reader'] })).json()) as Job;
          assert.notEqual(body.state, 'failed', body.error ?? '');
          return body.state === 'completed' ? body : undefined;
        },
        360_000,
      );
      assert.equal(done.total_rows, 10_000);
      assert.equal(done.accepted, 9_950);
      assert.equal(done.scored, 9_950);
      assert.equal(done.rejected, 50);
      assert.deepEqual(done.rejections, rejections);
      const paged = (await (
        await call(`/v1/jobs/${job.id}/rejections?after=${rejections[24]!.row_number}&limit=1000`, {
          key: keys['bulk-reader'],
        })
      ).json()) as { rejections: unknown[] };
      assert.deepEqual(paged.rejections, rejections.slice(25));

      // Postgres: every good row scored once, by the pipeline, under the id the job claimed
      const { rows: pg } = await db.query<{ n: string; from_pipeline: string; claimed: string }>(
        `SELECT count(*) AS n, count(*) FILTER (WHERE f.source_offset >= 0) AS from_pipeline, count(s.id) AS claimed
         FROM finance_scores f LEFT JOIN finance_statements s ON s.id = f.id AND s.job_id = $2 WHERE f.tenant_id = $1`,
        [tenants.bulk, job.id],
      );
      assert.deepEqual(pg[0], { n: '9950', from_pipeline: '9950', claimed: '9950' });
      // a few scores, as the scorer computes them
      for (const g of [good[0]!, good[4_321]!, good[9_949]!]) {
        const { rows } = await db.query<{ probability: number }>(
          'SELECT probability FROM finance_scores WHERE id = $1',
          [expectedId(tenants.bulk, g.company, g.periodEnd, g.kind)],
        );
        assert.equal(rows[0]!.probability, (await expectedScore(g.kind, g.amounts)).probability);
      }

      // ClickHouse: the same 9,950, and the dashboard rollups agree with Postgres
      const tenant = quoteString(tenants.bulk);
      await eventually(
        '9,950 scores in ClickHouse',
        async () => {
          const [row] = await chQuery<{ n: string }>(
            `SELECT uniqExact(id) AS n FROM finance_scores WHERE tenant_id = ${tenant}`,
          );
          return Number(row!.n) === 9_950 ? true : undefined;
        },
        120_000,
      );
      const counts = await chQuery<{ category: string; n: string }>(
        `SELECT category, sum(statements) AS n FROM finance_category_counts WHERE tenant_id = ${tenant} GROUP BY category ORDER BY category`,
      );
      const { rows: pgCounts } = await db.query<{ category: string; n: string }>(
        'SELECT category, count(*) AS n FROM finance_scores WHERE tenant_id = $1 GROUP BY category ORDER BY category',
        [tenants.bulk],
      );
      assert.deepEqual(
        counts.map((c) => [c.category, Number(c.n)]),
        pgCounts.map((c) => [c.category, Number(c.n)]),
      );
      const quantiles = await chQuery<{
        period_end: string;
        kind: string;
        statements: string;
        p10: number;
        p50: number;
        p90: number;
        p99: number;
      }>(
        `SELECT period_end, kind, statements, p10, p50, p90, p99 FROM finance_probability_quantiles WHERE tenant_id = ${tenant} ORDER BY period_end`,
      );
      assert.equal(quantiles.length, 20);
      assert.equal(
        quantiles.reduce((t, q) => t + Number(q.statements), 0),
        9_950,
      );
      for (const q of quantiles) {
        assert.ok(q.p10 >= 0 && q.p10 <= q.p50 && q.p50 <= q.p90 && q.p90 <= q.p99 && q.p99 <= 1, JSON.stringify(q));
        assert.equal(q.kind, q.period_end.endsWith('-12-31') ? 'annual' : 'quarterly');
      }
      // the median of one period, against the probabilities Postgres holds (quantileExact picks element floor(n/2))
      const sorted = (
        await db.query<{ p: number }>(
          "SELECT probability AS p FROM finance_scores WHERE tenant_id = $1 AND period_end = '2020-03-31' ORDER BY 1",
          [tenants.bulk],
        )
      ).rows.map((r) => r.p);
      assert.equal(quantiles[0]!.p50, sorted[Math.floor(sorted.length / 2)]);
    },
  );

  it(
    'JSON lines too; a row for a statement submitted synchronously is rejected naming it',
    { timeout: 120_000 },
    async () => {
      const amounts = nextAmounts();
      const sync = (await (
        await post('/v1/predictions/annual', keys['bulk-producer']!, {
          company_id: 'jl-sync',
          period_end: '2022-12-31',
          ...amounts,
        })
      ).json()) as { id: string };
      const rows = [
        { company_id: 'jl-1', period: 'annual', period_end: '2022-12-31', ...amounts },
        { company_id: 'jl-sync', period: 'annual', period_end: '2022-12-31', ...amounts },
        'not json',
        { company_id: 'jl-2', period: 'quarterly', period_end: '2022-09-30', ...amounts, price_level_index: 120 },
      ];
      const body = rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
      const response = await call('/v1/predictions/bulk', {
        method: 'POST',
        key: keys['bulk-producer'],
        body,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as { id: string };
      const done = await eventually(
        'the job to complete',
        async () => {
          const job = (await (await call(`/v1/jobs/${id}`, { key: keys['bulk-reader'] })).json()) as {
            state: string;
            accepted: number;
            scored: number;
            rejections: { row_number: number; field: string | null; reason: string }[];
          };
          return job.state === 'completed' ? job : undefined;
        },
        90_000,
      );
      assert.equal(done.accepted, 2);
      assert.equal(done.scored, 2);
      assert.deepEqual(
        done.rejections.map((r) => [r.row_number, r.field]),
        [
          [2, null],
          [3, null],
        ],
      );
      assert.match(done.rejections[0]!.reason, new RegExp(`already submitted as ${sync.id}`));
      assert.match(done.rejections[1]!.reason, /^not JSON/);
    },
  );

  it(
    'the same file from two tenants: two jobs, each accepting and scoring every row as its own',
    { timeout: 120_000 },
    async () => {
      const amounts = nextAmounts();
      const body = ['twin-1', 'twin-2', 'twin-3']
        .map((company) =>
          JSON.stringify({ company_id: company, period: 'annual', period_end: '2023-12-31', ...amounts }),
        )
        .join('\n');
      const jobOf = async (tenant: 'a' | 'b') => {
        const response = await call('/v1/predictions/bulk', {
          method: 'POST',
          key: keys[`${tenant}-producer`],
          body,
          headers: { 'content-type': 'application/x-ndjson' },
        });
        assert.equal(response.status, 202);
        const { id } = (await response.json()) as { id: string };
        return eventually(
          `tenant ${tenant}'s job to complete`,
          async () => {
            const job = (await (await call(`/v1/jobs/${id}`, { key: keys[`${tenant}-reader`] })).json()) as {
              state: string;
              accepted: number;
              scored: number;
            };
            return job.state === 'completed' && job.scored === 3 ? job : undefined;
          },
          90_000,
        );
      };
      const [ofA, ofB] = await Promise.all([jobOf('a'), jobOf('b')]);
      assert.equal(ofA.accepted, 3);
      assert.equal(ofB.accepted, 3);
      const { rows } = await db.query<{ tenant_id: string; n: number }>(
        `SELECT tenant_id, count(*)::int AS n FROM finance_scores
          WHERE tenant_id = ANY($1) AND company_id LIKE 'twin-%' AND period_end = '2023-12-31' GROUP BY tenant_id ORDER BY tenant_id`,
        [[tenants.a, tenants.b]],
      );
      assert.deepEqual(rows, [
        { tenant_id: tenants.a, n: 3 },
        { tenant_id: tenants.b, n: 3 },
      ]);
    },
  );

  it(
    'a job whose process stopped is taken over when looked at; rows it had claimed are published again, not rejected',
    { timeout: 120_000 },
    async () => {
      // the state a crash between claiming a row and sending it leaves: the job publishing, its progress old, row 1 claimed
      const id = randomUUID();
      const gen = amountsGenerator(5);
      const rows = [1, 2, 3].map((i) => ({ company: `resumed-${i}`, amounts: gen() }));
      const csv = [
        HEADER.join(','),
        ...rows.map((r) => [r.company, 'annual', '2021-12-31', ...AMOUNTS.map((a) => r.amounts[a]), ''].join(',')),
        `broken,annual,2021-12-31`,
      ].join('\n');
      const file = path.join(loadConfig().MILLRACE_HOME, 'finance-bulk', id, 'statements');
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, csv);
      await db.query(
        `INSERT INTO finance_jobs (id, tenant_id, format, delimiter, bytes, state, updated_at) VALUES ($1, $2, 'csv', ',', $3, 'publishing', now() - interval '10 minutes')`,
        [id, tenants.bulk, csv.length],
      );
      const claimedId = expectedId(tenants.bulk, 'resumed-1', '2021-12-31', 'annual');
      await db.query(
        `INSERT INTO finance_statements (id, tenant_id, company_id, period_end, kind, source, job_id, row_number) VALUES ($1, $2, 'resumed-1', '2021-12-31', 'annual', 'bulk', $3, 1)`,
        [claimedId, tenants.bulk, id],
      );
      const done = await eventually(
        'the resumed job to complete',
        async () => {
          const job = (await (await call(`/v1/jobs/${id}`, { key: keys['bulk-reader'] })).json()) as {
            state: string;
            accepted: number;
            scored: number;
            total_rows: number;
            rejections: { row_number: number; reason: string }[];
          };
          return job.state === 'completed' ? job : undefined;
        },
        90_000,
      );
      assert.deepEqual([done.total_rows, done.accepted, done.scored], [4, 3, 3]);
      assert.deepEqual(
        done.rejections.map((r) => [r.row_number, r.reason]),
        [[4, 'expected 15 fields, got 3']],
      );
      const { rows: scored } = await db.query<{ probability: number }>(
        'SELECT probability FROM finance_scores WHERE id = $1',
        [claimedId],
      );
      assert.equal(scored[0]!.probability, (await expectedScore('annual', rows[0]!.amounts)).probability);
    },
  );

  it('refuses a file without a required column (naming it), an empty one and a binary one; jobs are tenant-scoped', async () => {
    const upload = (body: string | Uint8Array, type = 'text/csv') =>
      call('/v1/predictions/bulk', {
        method: 'POST',
        key: keys['bulk-producer'],
        body,
        headers: { 'content-type': type },
      });
    const noSales = await upload(
      `${HEADER.filter((h) => h !== 'sales').join(',')}\nx,annual,2024-12-31,1,1,1,1,1,1,1,1,1,1,100\n`,
    );
    assert.equal(noSales.status, 400);
    const body = (await noSales.json()) as { field: string; message: string };
    assert.equal(body.field, 'sales');
    assert.match(body.message, /no column sales/);
    assert.equal((await upload('')).status, 400);
    assert.equal(
      (await upload(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 1]), 'application/octet-stream')).status,
      415,
    );
    assert.equal(
      (
        await call('/v1/predictions/bulk', {
          method: 'POST',
          key: keys['bulk-reader'],
          body: 'x',
          headers: { 'content-type': 'text/csv' },
        })
      ).status,
      403,
    );

    const ok = await upload(`${HEADER.join(',')}\n`);
    assert.equal(ok.status, 202);
    const { id } = (await ok.json()) as { id: string };
    assert.equal((await call(`/v1/jobs/${id}`, { key: keys['a-reader'] })).status, 404, "another tenant's job");
    assert.equal((await call(`/v1/jobs/${randomUUID()}`, { key: keys['bulk-reader'] })).status, 404);
    const notUuid = await call('/v1/jobs/nope', { key: keys['bulk-reader'] });
    assert.equal(notUuid.status, 400);
    assert.equal(((await notUuid.json()) as { field: string }).field, 'id');
    const empty = await eventually('a header-only job to complete', async () => {
      const job = (await (await call(`/v1/jobs/${id}`, { key: keys['bulk-reader'] })).json()) as {
        state: string;
        total_rows: number;
        accepted: number;
      };
      return job.state === 'completed' ? job : undefined;
    });
    assert.deepEqual([empty.total_rows, empty.accepted], [0, 0]);
  });
});
