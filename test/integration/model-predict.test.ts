/**
 * Online predictions on real Postgres and ClickHouse: two versions of a model trained on flights
 * of a known rule and registered; the API answers with the active one (the same probabilities as
 * the in-process model, concurrent requests batched), switches on activation without a restart,
 * and refuses rows that do not fit, unknown models and other tenants' models.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { metrics } from '../../core/metrics.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { activateVersion } from '../../models/model-registry.ts';
import { parseParams, predictInProcess, type Algorithm } from '../../models/tabular/algorithms.ts';
import type { DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import { saveDataset } from '../../models/tabular/training-datasets.ts';
import { encodedWidth, encodeObjects } from '../../models/tabular/encoding.ts';
import { trainOnDataset, type TrainedModel } from '../../models/tabular/train.ts';
import { buildManifest, registerTrained } from '../../models/tabular/version.ts';
import { eventually } from '../../testkit/helpers.ts';
import {
  DELAY_DATASET,
  insertFlights,
  ORIGINS,
  random,
  ruledFlights,
  testApi,
  type TestApi,
} from '../../testkit/training-helpers.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const deps = {
  db,
  clickhouse,
  kafka: createKafka('millrace-test'),
  registry: new Registry(),
  log: createLogger('test'),
};

interface PredictBody {
  model_id: string;
  version: string;
  predictions: { label: number; probability: number }[];
}

function requestRows(count: number, seed: number): Record<string, unknown>[] {
  const next = random(seed);
  return Array.from({ length: count }, () => ({
    hour: Math.floor(next() * 24),
    weekday: 1 + Math.floor(next() * 7),
    distance: Math.round(100 + next() * 2400),
    origin: next() < 0.1 ? 'XYZ' : ORIGINS[Math.floor(next() * ORIGINS.length)]!, // XYZ: a category never seen
  }));
}

describe('POST /v1/models/{id}/predict', () => {
  let api: TestApi;
  let other: TestApi;
  let modelId: string;
  const versions: Record<string, TrainedModel> = {};

  before(async () => {
    api = await testApi(deps, 'predict');
    other = await testApi(deps, 'predict-other');
    await insertFlights(clickhouse, ruledFlights(api.tenant, 5000));
    const dataset = await saveDataset(db, api.tenant, 'delays', DELAY_DATASET as DatasetDefinition);
    modelId = `${api.tenant}.delays`;
    for (const [version, algorithm] of [
      ['1', 'logistic_regression'],
      ['2', 'gradient_boosting'],
    ] as [string, Algorithm][]) {
      const params = parseParams(algorithm, {});
      assert.ok(params.success);
      const trained = await trainOnDataset({
        clickhouse,
        dataset,
        algorithm,
        params: params.data,
        meta: { id: modelId, version },
        progress: async () => {},
      });
      versions[version] = trained;
      const lineage = {
        job_id: randomUUID(),
        tenant_id: api.tenant,
        dataset: { name: 'delays', version: 1, definition: dataset.definition },
        params: params.data,
        code_version: 'test',
      };
      await registerTrained(
        db,
        trained.onnx,
        buildManifest(trained, { id: modelId, version, description: 'test', lineage }),
      );
    }
    await activateVersion(db, modelId, '1');
  });
  after(async () => {
    await db.query('DELETE FROM models WHERE id = $1', [modelId]);
    await Promise.all([api.close(), other.close()]);
    await Promise.all([db.end(), clickhouse.close()]);
  });

  const predict = (rows: unknown[], id = modelId, who = api) =>
    who.call(`/v1/models/${id}/predict`, who.keys.reader, { body: { rows } });
  const expected = (version: string, rows: Record<string, unknown>[]) => {
    const trained = versions[version]!;
    return predictInProcess(trained.model, encodeObjects(trained.encoding, rows), encodedWidth(trained.encoding));
  };

  it('answers with the active version, as the in-process model does; concurrent requests share batches', async () => {
    const rows = requestRows(200, 1);
    const response = await predict(rows);
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as PredictBody;
    assert.deepEqual([body.model_id, body.version, body.predictions.length], [modelId, '1', 200]);
    const want = expected('1', rows);
    body.predictions.forEach((p, i) => {
      assert.ok(Math.abs(p.probability - want[i]!) < 1e-5, `row ${i}: ${p.probability} vs ${want[i]}`);
      assert.equal(p.label, p.probability > 0.5 ? 1 : 0);
    });

    const batches = async () =>
      (await metrics.batchSize.get()).values.find(
        (v) => v.metricName === 'millrace_batch_size_count' && v.labels.name === modelId,
      )?.value ?? 0;
    const batchesBefore = await batches();
    const singles = requestRows(60, 2);
    const answers = await Promise.all(
      singles.map(async (row) => ((await (await predict([row])).json()) as PredictBody).predictions[0]!.probability),
    );
    const wantSingles = expected('1', singles);
    answers.forEach((p, i) => assert.ok(Math.abs(p - wantSingles[i]!) < 1e-5, `single ${i}`));
    const runs = (await batches()) - batchesBefore;
    assert.ok(runs < 60, `60 concurrent requests in ${runs} ONNX runs`);
  });

  it(
    'a prediction retried with its Idempotency-Key is its first answer, even once another version is active',
    { timeout: 30_000 },
    async () => {
      const rows = requestRows(20, 7);
      const key = `predict-${randomUUID()}`;
      const withKey = () =>
        api.call(`/v1/models/${modelId}/predict`, api.keys.reader, {
          body: { rows },
          headers: { 'idempotency-key': key },
        });
      const first = await withKey();
      assert.equal(first.status, 200);
      const firstText = await first.text();
      assert.equal((JSON.parse(firstText) as PredictBody).version, '1');
      await activateVersion(db, modelId, '2');
      await eventually(
        'version 2 answering',
        async () => ((await (await predict(rows)).json()) as PredictBody).version === '2' || undefined,
        20_000,
      );
      const retried = await withKey();
      assert.equal(retried.headers.get('idempotent-replayed'), 'true');
      assert.equal(await retried.text(), firstText, 'version 1 answer, byte for byte');
      // back to version 1, for the next test to see a switch
      await activateVersion(db, modelId, '1');
      await eventually(
        'version 1 answering again',
        async () => ((await (await predict(rows)).json()) as PredictBody).version === '1' || undefined,
        20_000,
      );
    },
  );

  it('switches to a newly activated version without a restart', { timeout: 30_000 }, async () => {
    await activateVersion(db, modelId, '2');
    const rows = requestRows(50, 3);
    const body = await eventually(
      'version 2 answering',
      async () => {
        const answer = (await (await predict(rows)).json()) as PredictBody;
        return answer.version === '2' ? answer : undefined;
      },
      20_000,
    );
    const want = expected('2', rows);
    body.predictions.forEach((p, i) => assert.ok(Math.abs(p.probability - want[i]!) < 1e-5, `row ${i}`));
  });

  it(
    'scores JSON lines in a streamed batch, larger than the JSON body limit, answering every line in order',
    { timeout: 60_000 },
    async () => {
      const rows = requestRows(20_000, 5);
      const lines = rows.map((r) => JSON.stringify(r));
      lines.splice(1500, 0, '{"hour": 3', ''); // a broken line, then a blank one
      lines.splice(3000, 0, JSON.stringify({ hour: 3, weekday: 1, distance: 100 }));
      const raw = `${lines.join('\n')}\n`;
      assert.ok(raw.length > 1024 * 1024, `${raw.length} bytes`);
      const response = await api.call(`/v1/models/${modelId}/batch`, api.keys.reader, {
        raw,
        contentType: 'application/x-ndjson',
      });
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(response.headers.get('x-model-version'), '2');
      const answers = (await response.text())
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as { line: number; probability?: number; error?: string; field?: string; message?: string },
        );
      assert.equal(answers.length, 20_002, 'one answer per non-empty line');
      assert.deepEqual(
        answers.map((a) => a.line),
        [...Array(20_003).keys()].map((i) => i + 1).filter((n) => n !== 1502),
      );
      assert.deepEqual(answers[1500], { line: 1501, error: 'invalid_row', message: 'line 1501 is not JSON' });
      assert.deepEqual(answers[2999], {
        line: 3001,
        error: 'invalid_row',
        field: 'origin',
        message: 'line 3001: origin is missing',
      });
      const scored = answers.filter((a) => a.error === undefined);
      const want = expected('2', rows);
      scored.forEach((a, i) => assert.ok(Math.abs(a.probability! - want[i]!) < 1e-5, `row ${i}`));
    },
  );

  it('a batch keeps the version it began with when another is activated meanwhile', { timeout: 60_000 }, async () => {
    const rows = requestRows(4000, 6);
    const encoder = new TextEncoder();
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
    const send = (part: Record<string, unknown>[]) =>
      feed.enqueue(encoder.encode(part.map((r) => `${JSON.stringify(r)}\n`).join('')));
    send(rows.slice(0, 2000));
    const response = await api.call(`/v1/models/${modelId}/batch`, api.keys.reader, {
      raw: body,
      contentType: 'application/x-ndjson',
    });
    assert.equal(response.headers.get('x-model-version'), '2');
    const text = response.text();

    await activateVersion(db, modelId, '1');
    await eventually(
      'version 1 answering single predictions',
      async () =>
        ((await (await predict(requestRows(1, 7))).json()) as PredictBody).version === '1' ? true : undefined,
      20_000,
    );
    send(rows.slice(2000));
    feed.close();
    const answers = (await text)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { probability: number });
    assert.equal(answers.length, 4000);
    const want = expected('2', rows);
    answers.forEach((a, i) =>
      assert.ok(Math.abs(a.probability - want[i]!) < 1e-5, `row ${i}: scored by version 2 throughout`),
    );
  });

  it('refuses rows that do not fit with a 400 naming the field, and unknown or foreign models with a 404', async () => {
    const refused = async (rows: unknown[], field: string, message: RegExp) => {
      const response = await predict(rows);
      assert.equal(response.status, 400);
      const error = (await response.json()) as { field: string; message: string };
      assert.equal(error.field, field);
      assert.match(error.message, message);
    };
    await refused([{ hour: 3, weekday: 1, distance: 100 }], 'rows.0.origin', /is missing/);
    await refused(
      [
        { hour: 3, weekday: 1, distance: 100, origin: 'ORD' },
        { hour: '3', weekday: 1, distance: 100, origin: 'ORD' },
      ],
      'rows.1.hour',
      /must be a finite number/,
    );
    await refused([{ hour: 3, weekday: 1, distance: 100, origin: 7 }], 'rows.0.origin', /must be a string/);
    await refused([], 'rows', /.+/);

    const unknown = await predict(requestRows(1, 4), `${api.tenant}.nope`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { message: string }).message, /no model ".*\.nope" in the registry/);
    const foreign = await predict(requestRows(1, 4), modelId, other);
    assert.equal(foreign.status, 404);
    // in the words of a model that does not exist: the other tenant cannot tell it does
    assert.equal(((await foreign.json()) as { message: string }).message, `no model "${modelId}" in the registry`);
  });
});
