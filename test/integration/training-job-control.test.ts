/**
 * Training jobs a tenant controls, on real Postgres, ClickHouse and Kafka: trainers claim the
 * highest priority first, then the oldest; the jobs list pages newest first and filters by status
 * and model, showing no other tenant's; a queued job cancels at once and a running one stops at
 * its next step, ends `cancelled` and registers nothing, while a job whose version is registered
 * can no longer be cancelled; two runs compare side by side.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { parseParams } from '../../models/tabular/algorithms.ts';
import type { DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import { saveDataset } from '../../models/tabular/training-datasets.ts';
import { claimJob, createJob, holdInTransaction } from '../../models/tabular/training-jobs.ts';
import { trainOnDataset, type TrainedModel } from '../../models/tabular/train.ts';
import { startTrainer, type RunningTrainer } from '../../models/tabular/trainer.ts';
import { buildManifest, registerTrained, versionOfJob } from '../../models/tabular/version.ts';
import { eventually } from '../../testkit/helpers.ts';
import { DELAY_DATASET, insertFlights, ruledFlights, testApi, type TestApi } from '../../testkit/training-helpers.ts';

const db = createPostgresPool(6);
const clickhouse = createClickHouse();
const kafka = createKafka('millrace-test');
const registry = new Registry();
const log = createLogger('test');
const deps = { db, clickhouse, kafka, registry, log };

interface Job {
  id: string;
  status: string;
  priority: number;
  reason: string | null;
  model_id: string;
  model_version: string | null;
  params: Record<string, unknown>;
  metrics: { holdout: Record<string, number> } | null;
  cancel_requested_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  events: string;
}

let api: TestApi;
let trainer: RunningTrainer | undefined;

/** The trainer of this file's jobs, started at first use. */
async function aTrainer(): Promise<RunningTrainer> {
  trainer ??= await startTrainer({ ...deps, groupId: `millrace-trainer-test-${randomBytes(4).toString('hex')}` });
  await trainer.joined;
  return trainer;
}

/** Inserts a job row as the trainer or API would have left it; its created_at and the rest as given. */
async function insertJob(columns: Record<string, unknown>): Promise<string> {
  const row = {
    id: randomUUID(),
    tenant_id: api.tenant,
    dataset_name: 'delays',
    dataset_version: 1,
    algorithm: 'logistic_regression',
    params: '{}',
    model_id: `${api.tenant}.listed`,
    ...columns,
  };
  const names = Object.keys(row);
  await db.query(
    `INSERT INTO training_jobs (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
    Object.values(row),
  );
  return row.id;
}

/** The events of a job over SSE, to the end of the stream (after a terminal event). */
async function eventKinds(path: string): Promise<{ kinds: string[]; last: Record<string, unknown> }> {
  const response = await api.call(path, api.keys.reader);
  assert.equal(response.status, 200);
  const blocks = (await response.text()).split('\n\n').filter((b) => b.includes('data:'));
  const field = (block: string, name: string) =>
    block
      .split('\n')
      .find((l) => l.startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim() ?? '';
  return {
    kinds: blocks.map((b) => field(b, 'event')),
    last: JSON.parse(field(blocks.at(-1)!, 'data')) as Record<string, unknown>,
  };
}

const versionsOfJob = async (jobId: string) =>
  (
    await db.query("SELECT version FROM model_versions WHERE manifest -> 'lineage' ->> 'job_id' = $1", [jobId])
  ).rows.map((r: { version: string }) => r.version);

before(async () => {
  api = await testApi(deps, 'jobctl');
  await insertFlights(clickhouse, ruledFlights(api.tenant, 6000));
  const created = await api.call('/v1/training-datasets', api.keys.analyst, {
    body: { name: 'delays', ...DELAY_DATASET },
  });
  assert.equal(created.status, 201, await created.clone().text());
});
after(async () => {
  await trainer?.stop();
  await db.query(
    "UPDATE training_jobs SET status = 'failed', reason = 'test cleanup' WHERE tenant_id = $1 AND status IN ('queued', 'running')",
    [api.tenant],
  );
  await db.query('DELETE FROM models WHERE id LIKE $1', [`${api.tenant}.%`]);
  await api.close();
  await Promise.all([db.end(), clickhouse.close()]);
});

describe('job priority', () => {
  it('a trainer claims the highest priority first, then the oldest; the API takes -10..10', async () => {
    // older than any job a trainer elsewhere may be running, so these are the next three claims
    const low = await insertJob({ priority: 0, created_at: '2000-01-01T00:00:00Z' });
    const highNewer = await insertJob({ priority: 5, created_at: '2000-01-03T00:00:00Z' });
    const highOlder = await insertJob({ priority: 5, created_at: '2000-01-02T00:00:00Z' });
    try {
      const claimed = [];
      for (let i = 0; i < 3; i++) claimed.push((await claimJob(db, 'priority-test', 60_000))?.id);
      assert.deepEqual(claimed, [highOlder, highNewer, low]);
    } finally {
      await db.query('DELETE FROM training_jobs WHERE id = ANY($1)', [[low, highNewer, highOlder]]);
    }

    const tooHigh = await api.call('/v1/training-jobs', api.keys.analyst, {
      body: { dataset: 'delays', algorithm: 'logistic_regression', priority: 11 },
    });
    assert.equal(tooHigh.status, 400);
    assert.equal(((await tooHigh.json()) as { field: string }).field, 'priority');
  });
});

describe('the jobs list', () => {
  /** This test's jobs, newest first: two share a created_at to the microsecond, the greater id first. */
  let listed: { id: string; status: string; model: string }[] = [];
  before(async () => {
    const rows = [
      { status: 'succeeded', model: 'listed', created_at: '2001-01-05 00:00:00.000009Z' },
      { status: 'failed', model: 'other', created_at: '2001-01-04 00:00:00.000007Z' },
      { status: 'cancelled', model: 'listed', created_at: '2001-01-04 00:00:00.000007Z' },
      { status: 'succeeded', model: 'listed', created_at: '2001-01-03 00:00:00.000001Z' },
      { status: 'failed', model: 'listed', created_at: '2001-01-03 00:00:00Z' },
    ];
    for (const { model, ...row } of rows) {
      const id = await insertJob({ ...row, model_id: `${api.tenant}.${model}` });
      listed.push({ id, status: row.status, model });
    }
    if (listed[1]!.id < listed[2]!.id) listed = [listed[0]!, listed[2]!, listed[1]!, ...listed.slice(3)];
  });
  after(() => db.query('DELETE FROM training_jobs WHERE id = ANY($1)', [listed.map((j) => j.id)]));
  const ids = (where: (j: (typeof listed)[number]) => boolean = () => true) => listed.filter(where).map((j) => j.id);

  const page = async (query: string, key = api.keys.reader) => {
    const response = await api.call(`/v1/training-jobs?${query}`, key);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { jobs: Job[]; next_cursor: string | null };
  };
  /** Only this test's jobs (2001): the tenant's real jobs from the other tests are newer. */
  const listedOnly = (jobs: Job[]) => jobs.filter((j) => j.created_at.startsWith('2001-')).map((j) => j.id);

  it('pages newest first by (created_at, id), microseconds kept, each job once', async () => {
    const seen: Job[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { jobs, next_cursor }: { jobs: Job[]; next_cursor: string | null } = await page(
        `limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.ok(jobs.length <= 2);
      seen.push(...jobs);
      cursor = next_cursor;
      pages++;
    } while (cursor && pages < 20);
    assert.equal(cursor, null, 'the last page has no next_cursor');
    assert.deepEqual(listedOnly(seen), ids());
    assert.equal(new Set(seen.map((j) => j.id)).size, seen.length, 'no job twice');
    const first = seen.find((j) => j.id === listed[0]!.id)!;
    assert.deepEqual(
      [first.status, first.priority, first.model_id, first.cancel_requested_at, first.started_at],
      ['succeeded', 0, `${api.tenant}.listed`, null, null],
    );
  });

  it('filters by status and by model (its name or registry id), together', async () => {
    assert.deepEqual(
      listedOnly((await page('status=failed')).jobs),
      ids((j) => j.status === 'failed'),
    );
    assert.deepEqual(
      listedOnly((await page('model=listed')).jobs),
      ids((j) => j.model === 'listed'),
    );
    assert.deepEqual(
      listedOnly((await page(`model=${api.tenant}.listed&status=succeeded`)).jobs),
      ids((j) => j.model === 'listed' && j.status === 'succeeded'),
    );
    const failed = (await page('status=failed&limit=200')).jobs;
    assert.ok(failed.every((j) => j.status === 'failed'));
  });

  it('refuses a bad status, limit or cursor naming it', async () => {
    for (const [query, field] of [
      ['status=done', 'status'],
      ['limit=0', 'limit'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      // the shape of one, but a day February does not have
      [
        `cursor=${Buffer.from('2026-02-30 00:00:00+00|00000000-0000-4000-8000-000000000000').toString('base64url')}`,
        'cursor',
      ],
    ] as const) {
      const response = await api.call(`/v1/training-jobs?${query}`, api.keys.reader);
      assert.equal(response.status, 400, query);
      assert.equal(((await response.json()) as { field: string }).field, field, query);
    }
  });

  it("shows another tenant none of this tenant's jobs, even by model id", async () => {
    const other = `jobctl-other-${randomBytes(4).toString('hex')}`;
    await createTenant(db, other);
    const key = (await createKey(db, other, 'reader')).key;
    assert.deepEqual((await page('limit=200', key)).jobs, []);
    assert.deepEqual((await page(`model=${api.tenant}.listed`, key)).jobs, []);
    const runs = await api.call(`/v1/training-runs?model=${api.tenant}.listed`, key);
    assert.deepEqual(((await runs.json()) as { runs: unknown[] }).runs, []);
  });
});

describe('cancelling a job', () => {
  it('a queued job ends cancelled at once, with its event, and cannot be cancelled again', async () => {
    const id = randomUUID();
    // straight into Postgres, no request on Kafka: no trainer is woken to claim it first
    await createJob(db, async () => {}, {
      id,
      tenant_id: api.tenant,
      dataset_name: 'delays',
      dataset_version: 1,
      algorithm: 'logistic_regression',
      params: {},
      model_id: `${api.tenant}.queued`,
    });
    const cancelled = await api.call(`/v1/training-jobs/${id}/cancel`, api.keys.analyst, { method: 'POST' });
    assert.equal(cancelled.status, 200, await cancelled.clone().text());
    const job = (await cancelled.json()) as Job;
    assert.deepEqual([job.status, job.reason], ['cancelled', 'cancelled while queued']);
    assert.ok(job.finished_at && job.cancel_requested_at);
    const { kinds } = await eventKinds(`/v1/training-jobs/${id}/events`);
    assert.deepEqual(kinds, ['queued', 'cancelled'], 'the stream ends at cancelled');

    const again = await api.call(`/v1/training-jobs/${id}/cancel`, api.keys.analyst, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as { message: string }).message, /is cancelled: only a queued or running job/);
  });

  it("answers another tenant's job as an unknown one, and a reader may not cancel", async () => {
    const other = `jobctl-other-${randomBytes(4).toString('hex')}`;
    await createTenant(db, other);
    const key = (await createKey(db, other, 'analyst')).key;
    const mine = await insertJob({ status: 'succeeded', created_at: '2001-02-01Z' });
    const unknown = randomUUID();
    try {
      const theirs = await api.call(`/v1/training-jobs/${mine}/cancel`, key, { method: 'POST' });
      const none = await api.call(`/v1/training-jobs/${unknown}/cancel`, key, { method: 'POST' });
      assert.deepEqual([theirs.status, none.status], [404, 404]);
      const [a, b] = [(await theirs.json()) as { message: string }, (await none.json()) as { message: string }];
      assert.equal(a.message.replace(mine, '<id>'), b.message.replace(unknown, '<id>'));
      const reader = await api.call(`/v1/training-jobs/${mine}/cancel`, api.keys.reader, { method: 'POST' });
      assert.equal(reader.status, 403);
    } finally {
      await db.query('DELETE FROM training_jobs WHERE id = $1', [mine]);
    }
  });

  it(
    'a running job stops at its next step, ends cancelled on the stream, and registers no version',
    { timeout: 180_000 },
    async () => {
      await aTrainer();
      const queued = await api.call('/v1/training-jobs', api.keys.analyst, {
        body: { dataset: 'delays', algorithm: 'gradient_boosting', params: { trees: 2000 }, model: 'cancelled' },
      });
      assert.equal(queued.status, 202, await queued.clone().text());
      const job = (await queued.json()) as Job;
      await eventually('the job training', async () => {
        const { rows } = await db.query("SELECT 1 FROM training_job_events WHERE job_id = $1 AND kind = 'progress'", [
          job.id,
        ]);
        return rows.length > 0 ? true : undefined;
      });
      const asked = performance.now();
      const cancelling = await api.call(`/v1/training-jobs/${job.id}/cancel`, api.keys.analyst, { method: 'POST' });
      assert.equal(cancelling.status, 202, await cancelling.clone().text());
      const flagged = (await cancelling.json()) as Job;
      assert.equal(flagged.status, 'running');
      assert.ok(flagged.cancel_requested_at);

      const { kinds, last } = await eventKinds(job.events);
      assert.equal(kinds.at(-1), 'cancelled', kinds.join(','));
      assert.equal(last.reason, 'cancelled while running');
      assert.ok(!kinds.includes('registered') && !kinds.includes('done'), kinds.join(','));
      const steps = kinds.filter((k) => k === 'progress').length;
      assert.ok(steps < 20, `stopped long before its 2000 trees: ${steps} of 20 progress events`);
      assert.ok(performance.now() - asked < 30_000, 'stopped well within a lease');
      const ended = (await (await api.call(`/v1/training-jobs/${job.id}`, api.keys.reader)).json()) as Job;
      assert.deepEqual([ended.status, ended.model_version, ended.metrics], ['cancelled', null, null]);
      assert.deepEqual(await versionsOfJob(job.id), []);
    },
  );
});

describe('cancelling a job whose trainer died', () => {
  it('ends it at once: no trainer holds it to stop it', async () => {
    const id = await insertJob({
      status: 'running',
      claimed_by: 'dead',
      lease_until: new Date(Date.now() - 1000),
      created_at: '2001-04-01Z',
    });
    try {
      const cancelled = await api.call(`/v1/training-jobs/${id}/cancel`, api.keys.analyst, { method: 'POST' });
      assert.equal(cancelled.status, 200, await cancelled.clone().text());
      const job = (await cancelled.json()) as Job;
      assert.deepEqual([job.status, job.reason], ['cancelled', 'cancelled while no trainer ran it']);
      assert.equal((await eventKinds(`/v1/training-jobs/${id}/events`)).kinds.at(-1), 'cancelled');
    } finally {
      await db.query('DELETE FROM training_jobs WHERE id = $1', [id]);
    }
  });
});

describe('registration against a cancel', () => {
  let trained: TrainedModel;
  before(async () => {
    const dataset = await saveDataset(db, api.tenant, 'delays-direct', DELAY_DATASET as DatasetDefinition);
    const params = parseParams('logistic_regression', {});
    assert.ok(params.success);
    trained = await trainOnDataset({
      clickhouse,
      dataset,
      algorithm: 'logistic_regression',
      params: params.data,
      meta: { id: `${api.tenant}.raced`, version: 'v' },
      progress: async () => {},
    });
  });

  /** Registers the trained model as `jobId`'s version if `worker` still holds the job, as the trainer does. */
  const registerFor = (jobId: string, version: string) =>
    registerTrained(
      db,
      trained.onnx,
      buildManifest(trained, {
        id: `${api.tenant}.raced`,
        version,
        description: 'raced',
        lineage: {
          job_id: jobId,
          tenant_id: api.tenant,
          dataset: { name: 'delays', version: 1, definition: DELAY_DATASET as DatasetDefinition },
          params: {},
          code_version: 'test',
        },
      }),
      async (client) => {
        const hold = await holdInTransaction(client, jobId, 'holder');
        if (hold !== 'held') throw new Error(`the job is ${hold}`);
      },
    );
  const running = (cancelRequested: boolean) =>
    insertJob({
      status: 'running',
      claimed_by: 'holder',
      lease_until: new Date(Date.now() + 60_000),
      model_id: `${api.tenant}.raced`,
      cancel_requested_at: cancelRequested ? new Date() : null,
    });

  it('a job cancelled after training, before registering, registers nothing', async () => {
    const id = await running(false);
    const cancelling = await api.call(`/v1/training-jobs/${id}/cancel`, api.keys.analyst, { method: 'POST' });
    assert.equal(cancelling.status, 202);
    await assert.rejects(registerFor(id, `cancelled-${id.slice(0, 8)}`), /the job is cancelling/);
    assert.equal(await versionOfJob(db, id), null);
  });

  it('a job whose version is registered can no longer be cancelled: 409 naming the version', async () => {
    const id = await running(false);
    const version = `kept-${id.slice(0, 8)}`;
    assert.equal((await registerFor(id, version)).created, true);
    const late = await api.call(`/v1/training-jobs/${id}/cancel`, api.keys.analyst, { method: 'POST' });
    assert.equal(late.status, 409);
    assert.match(
      ((await late.json()) as { message: string }).message,
      new RegExp(`version ${version} and is finishing`),
    );
    const { rows } = await db.query('SELECT cancel_requested_at FROM training_jobs WHERE id = $1', [id]);
    assert.equal(rows[0].cancel_requested_at, null);
  });
});

describe('training runs', () => {
  const runs: Job[] = [];
  before(async () => {
    await aTrainer();
    for (const trees of [20, 40]) {
      const queued = await api.call('/v1/training-jobs', api.keys.analyst, {
        body: { dataset: 'delays', algorithm: 'gradient_boosting', params: { trees }, model: 'compared', priority: 3 },
      });
      const job = (await queued.json()) as Job;
      assert.equal(job.priority, 3);
      assert.equal((await eventKinds(job.events)).kinds.at(-1), 'done');
      runs.push((await (await api.call(`/v1/training-jobs/${job.id}`, api.keys.reader)).json()) as Job);
    }
  });

  it("lists each run's params and held-out metrics, newest first", async () => {
    const response = await api.call('/v1/training-runs?model=compared', api.keys.reader);
    assert.equal(response.status, 200);
    const listed = (await response.json()) as {
      runs: {
        job_id: string;
        params: Record<string, unknown>;
        metrics: Record<string, number>;
        model_version: string;
      }[];
    };
    assert.deepEqual(
      listed.runs.map((r) => r.job_id),
      [runs[1]!.id, runs[0]!.id],
    );
    for (const [i, run] of [runs[1]!, runs[0]!].entries()) {
      assert.deepEqual(listed.runs[i]!.params, run.params);
      assert.deepEqual(listed.runs[i]!.metrics, run.metrics!.holdout);
      assert.equal(listed.runs[i]!.model_version, run.model_version);
    }
  });

  it('compares two runs: the parameters that changed, and each metric of both with b - a', async () => {
    const [a, b] = runs as [Job, Job];
    const response = await api.call(`/v1/training-runs/compare?a=${a.id}&b=${b.id}`, api.keys.reader);
    assert.equal(response.status, 200, await response.clone().text());
    const comparison = (await response.json()) as {
      a: { job_id: string };
      b: { job_id: string };
      changed: string[];
      params: { name: string; a: unknown; b: unknown; changed: boolean }[];
      metrics: { name: string; a: number; b: number; delta: number; better: string | null }[];
    };
    assert.deepEqual([comparison.a.job_id, comparison.b.job_id], [a.id, b.id]);
    assert.deepEqual(comparison.changed, ['trees']);
    assert.deepEqual(
      comparison.params.find((p) => p.name === 'trees'),
      { name: 'trees', a: 20, b: 40, changed: true },
    );
    assert.deepEqual(
      comparison.metrics.map((m) => m.name),
      Object.keys(a.metrics!.holdout),
    );
    for (const m of comparison.metrics) {
      assert.deepEqual([m.a, m.b], [a.metrics!.holdout[m.name], b.metrics!.holdout[m.name]], m.name);
      assert.equal(m.delta, m.b - m.a, m.name);
    }
    const auc = comparison.metrics.find((m) => m.name === 'auc')!;
    assert.equal(auc.better, auc.delta > 0 ? 'b' : auc.delta < 0 ? 'a' : null);
  });

  it('answers a job without metrics with a 409 and an unknown one with a 404, naming which', async () => {
    const unfinished = await insertJob({ status: 'cancelled', created_at: '2001-03-01Z' });
    try {
      const noMetrics = await api.call(`/v1/training-runs/compare?a=${runs[0]!.id}&b=${unfinished}`, api.keys.reader);
      assert.equal(noMetrics.status, 409);
      const body = (await noMetrics.json()) as { field: string; message: string };
      assert.equal(body.field, 'b');
      assert.match(body.message, /is cancelled: it has no held-out metrics/);
      const unknown = await api.call(`/v1/training-runs/compare?a=${randomUUID()}&b=${runs[0]!.id}`, api.keys.reader);
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { field: string }).field, 'a');
    } finally {
      await db.query('DELETE FROM training_jobs WHERE id = $1', [unfinished]);
    }
  });
});
