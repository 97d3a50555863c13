/**
 * Feature drift on real Postgres and ClickHouse: a model trained on flights of a known
 * distribution scores a stream drawn from the same one (no feature drifts), then a stream whose
 * distances and origins are shifted on purpose (those two drift, the others do not). The flights
 * and their scores are written to samples_flights and model_scores as the sinks land them. The
 * API serves the drift to the model's tenant only; the monitor's gauges say the same in /metrics.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { metricsRegistry } from '../../core/metrics.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import { measureAll } from '../../models/drift-monitor.ts';
import { activateVersion } from '../../models/model-registry.ts';
import { parseParams } from '../../models/tabular/algorithms.ts';
import type { DatasetDefinition } from '../../models/tabular/dataset-spec.ts';
import { trainOnDataset } from '../../models/tabular/train.ts';
import { saveDataset } from '../../models/tabular/training-datasets.ts';
import { buildManifest, registerTrained } from '../../models/tabular/version.ts';
import { DELAY_DATASET, insertFlights, ruledFlights, testApi, type TestApi } from '../../testkit/training-helpers.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const log = createLogger('test');
const deps = { db, clickhouse, kafka: createKafka('millrace-test'), registry: new Registry(), log };
const DAY = 86_400;

interface Drift {
  version: string;
  window: { from: string; to: string } | null;
  scored_rows: number;
  drifting: boolean;
  features: { feature: string; psi: number; drifting: boolean }[];
}

describe('feature drift of a production model', () => {
  let api: TestApi;
  let other: TestApi;
  let modelId: string;
  /**
   * Flights of the tenant `laterDays` after the training ones (four weeks of them, ids of their own),
   * landed with their scores.
   */
  async function stream(
    seed: number,
    laterDays: number,
    shift: (f: Record<string, unknown>) => Record<string, unknown>,
  ) {
    const flights = ruledFlights(api.tenant, 3000, seed).map((f, i) =>
      shift({ ...f, id: `${api.tenant}-s${seed}-${i}`, event_time: Number(f.event_time) + laterDays * DAY }),
    );
    await insertFlights(clickhouse, flights);
    await clickhouse.insert({
      table: 'model_scores',
      values: flights.map((f, i) => ({
        id: f.id,
        tenant_id: api.tenant,
        model_id: modelId,
        model_version: '1',
        label: 0,
        probability: 0.3,
        actual: 0,
        event_time: f.event_time,
        _topic: 'test',
        _partition: 0,
        _offset: i,
      })),
      format: 'JSONEachRow',
    });
  }
  const drift = async (windowHours: number) => {
    const response = await api.call(`/v1/models/${modelId}/feature-drift?window_hours=${windowHours}`, api.keys.reader);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Drift;
  };
  const psiOf = (d: Drift) => Object.fromEntries(d.features.map((f) => [f.feature, f.psi]));

  before(async () => {
    [api, other] = await Promise.all([testApi(deps, 'drift'), testApi(deps, 'drift-other')]);
    await insertFlights(clickhouse, ruledFlights(api.tenant, 5000));
    const dataset = await saveDataset(db, api.tenant, 'delays', DELAY_DATASET as DatasetDefinition);
    modelId = `${api.tenant}.delays`;
    const params = parseParams('logistic_regression', {});
    assert.ok(params.success);
    const trained = await trainOnDataset({
      clickhouse,
      dataset,
      algorithm: 'logistic_regression',
      params: params.data,
      meta: { id: modelId, version: '1' },
      progress: async () => {},
    });
    const lineage = {
      job_id: randomUUID(),
      tenant_id: api.tenant,
      dataset: { name: 'delays', version: dataset.version, definition: dataset.definition },
      params: params.data,
      code_version: 'test',
    };
    await registerTrained(
      db,
      trained.onnx,
      buildManifest(trained, { id: modelId, version: '1', description: 'drift', lineage }),
    );
    await activateVersion(db, modelId, '1');
  });
  after(async () => {
    await db.query('DELETE FROM models WHERE id = $1', [modelId]);
    await Promise.all([api.close(), other.close()]);
    await Promise.all([db.end(), clickhouse.close()]);
  });

  it('before it scores anything there is no window and nothing drifts', async () => {
    const d = await drift(24);
    assert.deepEqual([d.version, d.window, d.scored_rows, d.drifting], ['1', null, 0, false]);
    assert.deepEqual(
      d.features.map((f) => f.feature),
      DELAY_DATASET.features,
    );
  });

  it('a stream from the training distribution does not drift', async () => {
    await stream(11, 40, (f) => f);
    const d = await drift(24 * 30);
    assert.equal(d.scored_rows, 3000);
    for (const [feature, psi] of Object.entries(psiOf(d))) assert.ok(psi < 0.05, `${feature}: PSI ${psi}`);
    assert.equal(d.drifting, false);
  });

  it('a stream with shifted distances and origins drifts on those two features alone; the window keeps only it', async () => {
    await stream(12, 80, (f) => ({ ...f, distance: Number(f.distance) + 2000, origin: 'BOS' }));
    assert.equal((await drift(24 * 100)).scored_rows, 6000, 'a 100-day window holds both streams');
    const shifted = await drift(24 * 30);
    assert.equal(shifted.scored_rows, 3000, 'the last 30 days hold the shifted stream alone');
    const psi = psiOf(shifted);
    assert.ok(psi.distance! > 1 && psi.origin! > 1, JSON.stringify(psi));
    assert.ok(psi.hour! < 0.1 && psi.weekday! < 0.1, JSON.stringify(psi));
    assert.deepEqual(
      shifted.features.filter((f) => f.drifting).map((f) => f.feature),
      ['distance', 'origin'],
    );
    assert.equal(shifted.drifting, true);
  });

  it('the monitor sets the gauges /metrics serves', async () => {
    const measured = await measureAll(db, clickhouse, { windowHours: 24 * 30, threshold: 0.25 }, log);
    const mine = measured.get(modelId);
    assert.ok(mine?.window, 'the model was measured');
    const text = await metricsRegistry.metrics();
    for (const f of mine.features) {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`millrace_model_feature_psi{model="${modelId}",version="1",feature="${f.feature}"}`));
      assert.ok(line, `a gauge for ${f.feature}`);
      assert.ok(Math.abs(Number(line.split(' ').at(-1)) - f.psi) < 1e-9, line);
    }
    assert.ok(text.includes(`millrace_model_drifting{model="${modelId}",version="1"} ${mine.drifting ? 1 : 0}`));
  });

  it('another tenant asking gets what a model that does not exist gets', async () => {
    const theirs = await other.call(`/v1/models/${modelId}/feature-drift`, other.keys.reader);
    const nowhere = await other.call(`/v1/models/${api.tenant}.nowhere/feature-drift`, other.keys.reader);
    assert.equal(theirs.status, 404);
    const body = async (r: Response) => {
      const json = (await r.json()) as { message: string; error: string };
      return {
        error: json.error,
        message: json.message.replace(modelId, '<id>').replace(`${api.tenant}.nowhere`, '<id>'),
      };
    };
    assert.deepEqual(await body(theirs), await body(nowhere));
  });
});
