/**
 * Training on real ClickHouse, Postgres and Kafka: flights built here follow a known rule, and
 * both algorithms recover it (high held-out AUC, logistic coefficients of the right signs); the
 * ONNX models agree with the in-process ones on every held-out row; a job goes through the API
 * and a trainer to a registered version with metrics and lineage, its events reaching `done`
 * over SSE and on models.training.events; a job that cannot succeed says why; and a trainer
 * killed mid-training leaves its job to another, which registers the one version.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { DLQ_HEADER } from '../../core/dlq.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry } from '../../core/schema-registry.ts';
import { dlqTopicOf } from '../../schemas/topic-spec.ts';
import { listVersions } from '../../models/model-registry.ts';
import { parseParams } from '../../models/tabular/algorithms.ts';
import type { DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import { saveDataset } from '../../models/tabular/training-datasets.ts';
import { EVENTS_TOPIC, finishJob, recordEvent, REQUESTS_TOPIC } from '../../models/tabular/training-jobs.ts';
import { auc } from '../../models/tabular/evaluation.ts';
import { onnxProbabilities, trainOnDataset, type TrainedModel } from '../../models/tabular/train.ts';
import { startTrainer, type RunningTrainer } from '../../models/tabular/trainer.ts';
import type { TabularManifest } from '../../models/tabular/version.ts';
import { eventually } from '../../testkit/helpers.ts';
import { MillraceProcess, readCommitted } from '../../testkit/processor-helpers.ts';
import {
  DELAY_DATASET,
  insertFlights,
  ORIGINS,
  ruledFlights,
  testApi,
  type TestApi,
} from '../../testkit/training-helpers.ts';

const db = createPostgresPool(6);
const clickhouse = createClickHouse();
const kafka = createKafka('millrace-test');
const registry = new Registry();
const log = createLogger('test');
const deps = { db, clickhouse, kafka, registry, log };
const ROWS = 8000;

/** The rule's own score: the best AUC any model can reach on these rows, give or take noise. */
function ruleAuc(rows: Record<string, unknown>[]): number {
  const score = rows.map(
    (r) =>
      0.18 * new Date((r.event_time as number) * 1000).getUTCHours() +
      0.001 * (r.distance as number) +
      (r.origin === 'ORD' ? 1.5 : 0),
  );
  return auc(
    rows.map((r) => ((r.delay as number) > 15 ? 1 : 0)),
    score,
  );
}

interface SseEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

async function sse(response: Response): Promise<SseEvent[]> {
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await response.text(); // the stream ends after done or failed
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim() ?? '';
      return { event: field('event'), id: field('id'), data: JSON.parse(field('data')) as Record<string, unknown> };
    });
}

let api: TestApi;
let flights: Record<string, unknown>[];

before(async () => {
  api = await testApi(deps, 'training');
  flights = ruledFlights(api.tenant, ROWS);
  await insertFlights(clickhouse, flights);
});
after(async () => {
  // nothing of this run left for a later trainer to claim
  await db.query(
    "UPDATE training_jobs SET status = 'failed', reason = 'test cleanup' WHERE tenant_id = $1 AND status IN ('queued', 'running')",
    [api.tenant],
  );
  await db.query('DELETE FROM models WHERE id LIKE $1', [`${api.tenant}.%`]);
  await api.close();
  await Promise.all([db.end(), clickhouse.close()]);
});

describe('training on a dataset whose rule is known', () => {
  const trained: Record<string, TrainedModel> = {};

  before(async () => {
    const dataset = await saveDataset(db, api.tenant, 'ruled', DELAY_DATASET as DatasetDefinition);
    for (const algorithm of ['logistic_regression', 'gradient_boosting', 'mlp'] as const) {
      const params = parseParams(algorithm, {});
      assert.ok(params.success);
      trained[algorithm] = await trainOnDataset({
        clickhouse,
        dataset,
        algorithm,
        params: params.data,
        meta: { id: 'test', version: '1' },
        progress: async () => {},
      });
    }
  });

  it("logistic regression recovers it: AUC near the rule's own, coefficients of the right signs, weekday about nil", () => {
    const { metrics, model, columns, train_rows, holdout } = trained.logistic_regression!;
    assert.equal(train_rows + holdout.rows, ROWS);
    assert.ok(holdout.rows > ROWS * 0.15 && holdout.rows < ROWS * 0.25, `about a fifth held out: ${holdout.rows}`);
    assert.ok(metrics.auc > ruleAuc(flights) - 0.03, `AUC ${metrics.auc} vs the rule's ${ruleAuc(flights)}`);
    assert.ok(metrics.auc > 0.75, `AUC ${metrics.auc}`);
    assert.ok(model.algorithm === 'logistic_regression');
    const coefficient = (name: string) => model.coefficients[columns.indexOf(name)]!;
    assert.ok(coefficient('hour') > 0.1 && coefficient('hour') < 0.3, `hour ${coefficient('hour')} (rule: 0.18)`);
    assert.ok(
      coefficient('distance') > 0.0005 && coefficient('distance') < 0.0015,
      `distance ${coefficient('distance')} (rule: 0.001)`,
    );
    assert.ok(Math.abs(coefficient('weekday')) < 0.05, `weekday ${coefficient('weekday')} (rule: 0)`);
    for (const origin of ORIGINS.filter((o) => o !== 'ORD')) {
      const gap = coefficient('origin=ORD') - coefficient(`origin=${origin}`);
      assert.ok(gap > 1 && gap < 2, `ORD over ${origin}: ${gap} (rule: 1.5)`);
    }
    assert.ok(metrics.calibration_error < 0.05, `calibration error ${metrics.calibration_error}`);
  });

  it('gradient boosting and the multilayer perceptron recover it as well, and all beat the majority-class baseline', () => {
    const { metrics, baseline } = trained.gradient_boosting!;
    assert.ok(metrics.auc > ruleAuc(flights) - 0.04, `AUC ${metrics.auc} vs the rule's ${ruleAuc(flights)}`);
    const mlp = trained.mlp!.metrics;
    assert.ok(mlp.auc > ruleAuc(flights) - 0.04, `mlp AUC ${mlp.auc} vs the rule's ${ruleAuc(flights)}`);
    for (const t of Object.values(trained)) {
      assert.equal(t.baseline.auc, 0.5);
      assert.ok(
        t.metrics.log_loss < baseline.log_loss - 0.05,
        `log-loss ${t.metrics.log_loss} vs baseline ${baseline.log_loss}`,
      );
      assert.ok(
        t.metrics.accuracy > baseline.accuracy,
        `accuracy ${t.metrics.accuracy} vs baseline ${baseline.accuracy}`,
      );
    }
  });

  it('the ONNX model and the in-process model agree on every held-out row', async () => {
    for (const [algorithm, t] of Object.entries(trained)) {
      const onnx = await onnxProbabilities(t.onnx, t.holdout);
      assert.equal(onnx.probabilities.length, t.holdout.rows);
      for (let i = 0; i < t.holdout.rows; i++) {
        const diff = Math.abs(onnx.probabilities[i]! - t.probabilities[i]!);
        assert.ok(diff < 1e-5, `${algorithm} row ${i}: ONNX ${onnx.probabilities[i]} vs ${t.probabilities[i]}`);
        assert.equal(Number(onnx.labels[i]), t.probabilities[i]! > 0.5 ? 1 : 0, `${algorithm} row ${i} label`);
      }
      assert.deepEqual(t.agreement, {
        rows: t.holdout.rows,
        max_abs_diff: t.agreement.max_abs_diff,
        label_mismatches: 0,
      });
    }
  });
});

describe('training jobs through the API and a trainer', () => {
  let trainer: RunningTrainer;
  const group = `millrace-trainer-test-${randomBytes(4).toString('hex')}`;

  before(async () => {
    trainer = await startTrainer({ ...deps, groupId: group });
    await trainer.joined;
    await api.call('/v1/training-datasets', api.keys.analyst, { body: { name: 'delays', ...DELAY_DATASET } });
    // all negative: a label no model can learn
    await api.call('/v1/training-datasets', api.keys.analyst, {
      body: { name: 'on-time', ...DELAY_DATASET, filter: [{ column: 'delay', op: '<=', value: 15 }] },
    });
  });
  after(() => trainer.stop());

  it(
    'runs a job to a registered, activated version with metrics and lineage; SSE and Kafka carry its events to done',
    { timeout: 120_000 },
    async () => {
      const queued = await api.call('/v1/training-jobs', api.keys.analyst, {
        body: { dataset: 'delays', algorithm: 'gradient_boosting', params: { trees: 40 } },
      });
      assert.equal(queued.status, 202, await queued.clone().text());
      const job = (await queued.json()) as {
        id: string;
        status: string;
        model_id: string;
        params: Record<string, unknown>;
        events: string;
      };
      assert.ok(
        ['queued', 'running'].includes(job.status),
        `${job.status}: an idle trainer may have claimed it already`,
      );
      assert.equal(job.model_id, `${api.tenant}.delays-gradient-boosting`);
      assert.deepEqual(job.params, {
        max_categories: 20,
        trees: 40,
        max_depth: 4,
        learning_rate: 0.1,
        min_samples_leaf: 20,
        l2: 1,
        bins: 64,
      });

      const events = await sse(await api.call(job.events, api.keys.reader));
      const kinds = events.map((e) => e.event);
      assert.deepEqual(
        [kinds[0], kinds[1], kinds.at(-3), kinds.at(-2), kinds.at(-1)],
        ['queued', 'started', 'evaluated', 'registered', 'done'],
        kinds.join(','),
      );
      const progress = events.filter((e) => e.event === 'progress');
      assert.equal(progress.length, 20);
      assert.deepEqual(progress.at(-1)!.data.step, 40);
      assert.deepEqual(
        events.map((e) => Number(e.id)),
        [...events.map((e) => Number(e.id))].sort((a, b) => a - b),
        'in order',
      );
      const done = events.at(-1)!.data as { model_id: string; version: string; metrics: { auc: number } };
      assert.ok(done.metrics.auc > 0.75);
      assert.equal(events.at(-2)!.data.activated, true, "the model's first version is activated");

      const finished = (await (await api.call(`/v1/training-jobs/${job.id}`, api.keys.reader)).json()) as {
        status: string;
        model_version: string;
        metrics: { holdout: { auc: number } };
        attempts: number;
      };
      assert.deepEqual([finished.status, finished.model_version, finished.attempts], ['succeeded', done.version, 1]);
      const [version] = await listVersions(db, job.model_id, { operator: true });
      assert.ok(version?.active);
      const manifest = version.manifest as unknown as TabularManifest;
      assert.equal(manifest.version, done.version);
      for (const metric of ['accuracy', 'auc', 'log_loss', 'calibration_error'] as const)
        assert.equal(typeof manifest.metrics.holdout[metric], 'number', metric);
      assert.equal(manifest.lineage.job_id, job.id);
      assert.deepEqual([manifest.lineage.dataset.name, manifest.lineage.dataset.version], ['delays', 1]);
      assert.equal(manifest.lineage.params.trees, 40);
      assert.match(manifest.lineage.code_version, /^git:[0-9a-f]{40}(-dirty)?$/);
      assert.equal(manifest.lineage.onnx_sha256, manifest.models[0]!.sha256);
      assert.equal(manifest.metrics.onnx_agreement.label_mismatches, 0);

      const onKafka = (await readCommitted(kafka, EVENTS_TOPIC)).filter((r) => r.key === job.id);
      const decoded = await Promise.all(
        onKafka.map(async (r) => (await registry.decode<{ kind: string; tenant_id: string }>(r.value)).value),
      );
      assert.deepEqual(
        decoded.map((e) => e.kind),
        kinds,
        'the same events, in order, on models.training.events',
      );
      assert.ok(decoded.every((e) => e.tenant_id === api.tenant));
    },
  );

  it('SSE sends events in numeric seq order where text order differs (17 then 18 digits), and resumes after Last-Event-ID', async () => {
    // seqs are global: these are far past any the sequence will reach, random so that runs do not collide;
    // as text, the 18-digit ones (1...) sort before the 17-digit ones (9...)
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
    const low = BigInt(`9${digits(15)}0`);
    const high = BigInt(`1${digits(16)}0`);
    const seqs = [low, low + 1n, high, high + 1n].map(String);
    const kinds = ['queued', 'started', 'progress', 'done'];
    const id = randomUUID();
    await db.query(
      `INSERT INTO training_jobs (id, tenant_id, dataset_name, dataset_version, algorithm, params, model_id, status, finished_at)
       VALUES ($1, $2, 'delays', 1, 'logistic_regression', '{}', $3, 'succeeded', now())`,
      [id, api.tenant, `${api.tenant}.digits`],
    );
    try {
      for (const [i, seq] of seqs.entries())
        await db.query("INSERT INTO training_job_events (job_id, seq, kind, detail) VALUES ($1, $2, $3, '{}')", [
          id,
          seq,
          kinds[i],
        ]);
      const events = await sse(await api.call(`/v1/training-jobs/${id}/events`, api.keys.reader));
      assert.deepEqual(
        events.map((e) => [e.id, e.event]),
        seqs.map((seq, i) => [seq, kinds[i]]),
      );
      const headers = { authorization: `Bearer ${api.keys.reader}`, 'last-event-id': seqs[1]! };
      const resumed = await sse(
        await api.app.request(
          `/v1/training-jobs/${id}/events`,
          { headers },
          { incoming: { socket: { remoteAddress: `test:${api.tenant}` } } },
        ),
      );
      assert.deepEqual(
        resumed.map((e) => e.id),
        seqs.slice(2),
      );
    } finally {
      await db.query('DELETE FROM training_jobs WHERE id = $1', [id]); // and its events
    }
  });

  it("records a trainer's event only while the job is its own: one that lost the job is told so", async () => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO training_jobs (id, tenant_id, dataset_name, dataset_version, algorithm, params, model_id, status, claimed_by, lease_until)
       VALUES ($1, $2, 'delays', 1, 'logistic_regression', '{}', $3, 'running', 'holder', now() + interval '1 minute')`,
      [id, api.tenant, `${api.tenant}.fenced`],
    );
    const published: string[] = [];
    const publish = async (e: { kind: string }) => void published.push(e.kind);
    const job = { id, tenant_id: api.tenant };
    assert.equal(await recordEvent(db, publish, job, 'stale', 'progress', { step: 1 }), false);
    assert.equal(await recordEvent(db, publish, job, 'holder', 'progress', { step: 2 }), true);
    assert.equal(
      await finishJob(db, publish, job, 'stale', { status: 'failed', reason: 'stale' }, { kind: 'failed', detail: {} }),
      false,
    );
    assert.equal(
      await finishJob(db, publish, job, 'holder', { status: 'failed', reason: 'test' }, { kind: 'failed', detail: {} }),
      true,
    );
    assert.equal(
      await recordEvent(db, publish, job, 'holder', 'progress', { step: 3 }),
      false,
      'an ended job takes no more events',
    );
    const { rows } = await db.query<{ kind: string; step: number | null }>(
      "SELECT kind, (detail->>'step')::int AS step FROM training_job_events WHERE job_id = $1 ORDER BY seq",
      [id],
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [
        { kind: 'progress', step: 2 },
        { kind: 'failed', step: null },
      ],
    );
    assert.deepEqual(published, ['progress', 'failed']);
  });

  it('a job that cannot succeed fails saying why, in Postgres and as an event', { timeout: 60_000 }, async () => {
    const queued = await api.call('/v1/training-jobs', api.keys.analyst, {
      body: { dataset: 'on-time', algorithm: 'logistic_regression' },
    });
    const job = (await queued.json()) as { id: string; events: string };
    const events = await sse(await api.call(job.events, api.keys.reader));
    assert.deepEqual(
      events.map((e) => e.event),
      ['queued', 'started', 'failed'],
    );
    assert.match(events[2]!.data.reason as string, /the label has one class only: all \d+ training rows are negative/);
    const failed = (await (await api.call(`/v1/training-jobs/${job.id}`, api.keys.reader)).json()) as {
      status: string;
      reason: string;
    };
    assert.deepEqual(failed, { ...failed, status: 'failed', reason: events[2]!.data.reason });
  });

  it(
    'a request from another producer that names no dataset of its tenant goes to the DLQ saying why',
    { timeout: 60_000 },
    async () => {
      const producer = new AvroProducer(kafka, registry);
      await producer.connect();
      const id = randomUUID();
      const request = {
        id,
        tenant_id: api.tenant,
        event_time: Date.now(),
        dataset_name: 'missing',
        dataset_version: 1,
        algorithm: 'logistic_regression',
        params_json: '{}',
        model_id: `${api.tenant}.x`,
      };
      await producer.send(REQUESTS_TOPIC, [{ value: request }]).finally(() => producer.disconnect());
      const dead = await eventually('the request on the DLQ', async () =>
        (await readCommitted(kafka, dlqTopicOf(REQUESTS_TOPIC))).find((r) => r.key === id),
      );
      assert.equal(dead.headers[DLQ_HEADER.stage], 'trainer');
      assert.match(dead.headers[DLQ_HEADER.errorMessage]!, /no training dataset "missing" version 1 for this tenant/);
      assert.deepEqual({ ...(await registry.decode<object>(dead.value)).value }, request);
      assert.equal((await db.query('SELECT 1 FROM training_jobs WHERE id = $1', [id])).rowCount, 0);
    },
  );

  it('refuses a bad request with a 400 or 404 naming the field', async () => {
    const post = (body: unknown) => api.call('/v1/training-jobs', api.keys.analyst, { body });
    const unknownParam = await post({ dataset: 'delays', algorithm: 'gradient_boosting', params: { depth: 3 } });
    assert.equal(unknownParam.status, 400);
    assert.match(((await unknownParam.json()) as { message: string }).message, /params/);
    const badValue = await post({ dataset: 'delays', algorithm: 'gradient_boosting', params: { trees: 0 } });
    assert.equal(((await badValue.json()) as { field: string }).field, 'params.trees');
    assert.equal(
      ((await (await post({ dataset: 'delays', algorithm: 'svm' })).json()) as { field: string }).field,
      'algorithm',
    );
    const missing = await post({ dataset: 'nope', algorithm: 'logistic_regression' });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { field: string }).field, 'dataset');
    assert.equal(
      (await api.call('/v1/training-jobs/00000000-0000-4000-8000-000000000000', api.keys.reader)).status,
      404,
    );
    assert.equal(
      (
        await api.call('/v1/training-jobs', api.keys.reader, {
          body: { dataset: 'delays', algorithm: 'logistic_regression' },
        })
      ).status,
      403,
    );
  });
});

describe('a trainer killed mid-training', () => {
  it('leaves its job to another trainer, and the job registers one version', { timeout: 180_000 }, async () => {
    const group = `millrace-trainer-test-${randomBytes(4).toString('hex')}`;
    const env = { TRAINER_LEASE_MS: '2000', TRAINER_POLL_MS: '500', LOG_LEVEL: 'info' };
    const first = new MillraceProcess(['trainer', '--group', group], env);
    let job: { id: string; model_id: string; events: string };
    try {
      await first.waitForLog('the first trainer', (l) => l.msg === 'trainer running');
      const queued = await api.call('/v1/training-jobs', api.keys.analyst, {
        body: { dataset: 'delays', algorithm: 'gradient_boosting', params: { trees: 1500 }, model: 'killed' },
      });
      job = (await queued.json()) as typeof job;
      await eventually('the first trainer training', async () => {
        const { rows } = await db.query("SELECT 1 FROM training_job_events WHERE job_id = $1 AND kind = 'progress'", [
          job.id,
        ]);
        return rows.length > 0 ? true : undefined;
      });
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }

    const second = new MillraceProcess(['trainer', '--group', group], env);
    try {
      const events = await sse(await api.call(job.events, api.keys.reader));
      const started = events.filter((e) => e.event === 'started');
      assert.equal(started.length, 2, 'started twice');
      assert.notEqual(started[0]!.data.worker, started[1]!.data.worker);
      assert.deepEqual(
        started.map((e) => e.data.attempt),
        [1, 2],
      );
      assert.equal(events.at(-1)!.event, 'done');
      const versions = await listVersions(db, job.model_id, { operator: true });
      assert.equal(versions.length, 1, 'one version');
      assert.equal((versions[0]!.manifest as unknown as TabularManifest).lineage.job_id, job.id);
      const { rows } = await db.query<{ status: string; attempts: number }>(
        'SELECT status, attempts FROM training_jobs WHERE id = $1',
        [job.id],
      );
      assert.deepEqual(rows[0], { status: 'succeeded', attempts: 2 });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
