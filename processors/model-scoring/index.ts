/**
 * The model-scoring processor: the records of a tabular model's dataset table's topic
 * (`samples.flights.raw`) scored by the model's active version into the public
 * `samples.flights.scored`, and by each shadow version (models/shadows.ts) into
 * `samples.flights.shadow`, which only the ClickHouse sink reads. Both are written in the batch's
 * one transaction, and a shadow score carries the active score of the same record, so the
 * comparison (GET /v1/models/{id}/versions/{v}/comparison) counts exactly the records both scored.
 *
 * The versions are loaded from the registry on the first batch and followed (watchModel): an
 * activation, an attached or a detached shadow switches them without a restart; a batch is scored
 * by one set of versions, which every score names. Only the records of the model's tenant (its
 * training lineage) are scored; the others produce nothing. Each score's probability goes to the
 * `millrace_model_probability` histogram, which the model-drift alert (infra/prometheus/rules.yml) watches.
 */
import type { Logger } from '../../core/logger.ts';
import { createPostgresPool, type Pool } from '../../core/postgres.ts';
import { watchModel, type ActiveVersionWatch } from '../../models/model-registry.ts';
import { servingVersions, type Serving } from '../../models/shadows.ts';
import { recordFeatures, recordLabel, type SourceRecord } from '../../models/tabular/dataset-spec.ts';
import { TabularScorer } from '../../models/tabular/scorer.ts';
import type { ConsumedRecord, ProcessorSpec, TransformResult } from '../runtime/index.ts';
import type { ActiveScore, ModelScore, ShadowScore } from '../../schemas/records/model-scores.ts';
import { startOnce } from '../../core/start-once.ts';
import { LeasedModel, withLeases } from '../../models/leased-model.ts';
import { lineageOf } from '../runtime/lineage.ts';
import { metrics } from '../../core/metrics.ts';

export interface SourceEnvelope extends SourceRecord {
  id: string;
  tenant_id: string;
  event_time: number;
}

const isShadow = (score: ModelScore): score is ShadowScore => 'active_version' in score;

type Loaded = LeasedModel<TabularScorer>;

interface InUse {
  active: Loaded;
  shadows: Loaded[];
}

export type ModelScoringSpec = ProcessorSpec<SourceEnvelope, ModelScore> & {
  /** The versions in use, once the first batch has loaded them. */
  versions(): { active: string; shadows: string[] } | undefined;
  /** Stops following the registry and releases the models; the processor must be stopped first. */
  close(): Promise<void>;
};

export const modelScoringName = (modelId: string) => `model-scoring.${modelId}`;

export function modelScoring(
  modelId: string,
  topics = { input: 'samples.flights.raw', output: 'samples.flights.scored', shadow: 'samples.flights.shadow' },
  options: { checkIntervalMs?: number } = {},
): ModelScoringSpec {
  let inUse: InUse | undefined;
  let db: Pool | undefined;
  let watch: ActiveVersionWatch | undefined;
  let log: Logger | undefined;

  const releaseFailed = (error: Error, scorer: TabularScorer) =>
    log?.warn({ err: error, version: scorer.version }, 'releasing a replaced model failed');
  const members = (set: InUse) => [set.active, ...set.shadows];

  const switchTo = async (pool: Pool, serving: Serving) => {
    const loaded = new Map((inUse ? members(inUse) : []).map((l) => [l.model.version, l]));
    const fresh: Loaded[] = [];
    const obtain = async (version: string) => {
      const have = loaded.get(version);
      if (have) return have;
      const loading = new LeasedModel(await TabularScorer.load(pool, modelId, version), releaseFailed);
      fresh.push(loading);
      return loading;
    };
    let next: InUse;
    try {
      const active = await obtain(serving.active.version);
      const shadows: Loaded[] = [];
      for (const version of serving.shadows) shadows.push(await obtain(version));
      // a shadow scores the active version's records: another tenant's model has no business with them
      const tenant = active.model.manifest.lineage.tenant_id;
      next = { active, shadows: shadows.filter((s) => s.model.manifest.lineage.tenant_id === tenant) };
    } catch (error) {
      fresh.forEach((l) => l.retire()); // the versions in use stay; the watch tries again at the next notification or check
      throw error;
    }
    const kept = new Set(members(next));
    for (const unused of [...loaded.values(), ...fresh]) if (!kept.has(unused)) unused.retire();
    inUse = next;
  };

  const start = startOnce(async (watchLog: Logger) => {
    db ??= createPostgresPool(2);
    const pool = db;
    watch = await watchModel(
      pool,
      modelId,
      () => servingVersions(pool, modelId),
      (s) => [s.active.version, ...s.shadows.map((v) => `shadow ${v}`)].join(', '),
      (serving) => switchTo(pool, serving),
      { log: watchLog, ...(options.checkIntervalMs === undefined ? {} : { checkIntervalMs: options.checkIntervalMs }) },
    );
  });

  return {
    name: modelScoringName(modelId),
    input: topics.input,
    output: topics.output,
    sideOutputs: [topics.shadow],
    route: (score) => (isShadow(score) ? topics.shadow : topics.output),
    versions: () =>
      inUse ? { active: inUse.active.model.version, shadows: inUse.shadows.map((s) => s.model.version) } : undefined,
    async close() {
      await watch?.close();
      if (inUse) members(inUse).forEach((l) => l.retire());
      inUse = undefined;
      await db?.end();
      db = undefined;
    },
    async transform(records, ctx) {
      // a failed start (Postgres down) fails the batch, which is retried, and the start with it
      log ??= ctx.log;
      await start(ctx.log);
      const set = inUse;
      if (!set)
        throw new Error(
          `model ${modelId} has no active version: activate one (POST /v1/models/${modelId}/versions/<version>/activate)`,
        );
      const { manifest } = set.active.model;
      const definition = manifest.lineage.dataset.definition;
      const mine = records.flatMap((r, index) =>
        r.value.tenant_id === manifest.lineage.tenant_id ? [{ index, record: r }] : [],
      );
      const features = mine.map(({ record }) => recordFeatures(definition, record.value));
      const leased = members(set);
      const scored = await withLeases(leased, () => Promise.all(leased.map((l) => l.model.score(features))));
      return scoresOf(records, mine, set, scored, modelId);
    },
  };
}

type Scored = Awaited<ReturnType<TabularScorer['score']>>;

/**
 * The batch's results: for each record of the model's tenant its active score and one shadow score
 * per shadow version (carrying the active score of the same record); nothing for the others.
 */
function scoresOf(
  records: readonly ConsumedRecord<SourceEnvelope>[],
  mine: readonly { index: number; record: ConsumedRecord<SourceEnvelope> }[],
  set: InUse,
  [active, ...shadows]: Scored[],
  modelId: string,
): TransformResult<ModelScore>[] {
  const { manifest } = set.active.model;
  const definition = manifest.lineage.dataset.definition;
  const results: TransformResult<ModelScore>[] = records.map(() => []);
  mine.forEach(({ index, record }, i) => {
    const { value } = record;
    const lineage = { ...lineageOf(record), model_id: modelId };
    const actual = recordLabel(definition, value);
    const own: ActiveScore = { ...lineage, model_version: manifest.version, ...active![i]!, actual };
    metrics.modelProbability.observe({ model: modelId, version: own.model_version }, own.probability);
    set.shadows.forEach((shadow, s) =>
      metrics.modelProbability.observe({ model: modelId, version: shadow.model.version }, shadows[s]![i]!.probability),
    );
    results[index] = [
      own,
      ...set.shadows.map((shadow, s) => ({
        ...lineage,
        model_version: shadow.model.version,
        ...shadows[s]![i]!,
        active_version: own.model_version,
        active_label: own.label,
        active_probability: own.probability,
        actual,
      })),
    ];
  });
  return results;
}
