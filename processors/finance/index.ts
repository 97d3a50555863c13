/**
 * The finance scoring processor: `finance.statements.raw` -> `finance.statements.scored`. A batch
 * is validated record by record (a statement that would make a ratio undefined goes to the DLQ
 * naming the field), then every valid statement is scored in one ONNX run per model.
 *
 * The models are the active version of `finance.default-probability` in the model registry, loaded
 * from Postgres on the first batch and swapped, without a restart, when another version is
 * activated; a batch is scored by one version, which every score names. On start the bundled
 * models/finance is registered, and activated if no version is.
 */
import type { Logger } from '../../core/logger.ts';
import { createPostgresPool, type Pool } from '../../core/postgres.ts';
import { FINANCE_MODEL_ID, MODELS_DIR } from '../../models/finance/manifest.ts';
import { followActiveVersion, registerBundledVersion, type ActiveVersionWatch } from '../../models/model-registry.ts';
import type { ProcessorSpec, TransformResult } from '../runtime/index.ts';
import { FinanceScorer } from '../../domain/finance/score.ts';
import { parseStatement, type Statement } from '../../domain/finance/statement.ts';
import type { FinanceScore, ScoreRecord, StatementRecord } from '../../schemas/records/finance.ts';
import { startOnce } from '../../core/start-once.ts';
import { LeasedModel, withLeases } from '../../models/leased-model.ts';
import { lineageOf } from '../runtime/lineage.ts';

const DESCRIPTION =
  'default probability of a company from its financial statements: Ohlson (1980), Zmijewski (1984) and Altman (1968) ensembles';

/** Registers the bundled models/finance version, and activates it when the model has no active version. */
export const registerBundledModels = (db: Pool): Promise<void> => registerBundledVersion(db, MODELS_DIR, DESCRIPTION);

export interface FinanceScoringOptions {
  /** How often the active version is read besides the notifications (see watchActiveVersion). */
  checkIntervalMs?: number;
}

export type FinanceScoringSpec = ProcessorSpec<StatementRecord, ScoreRecord> & {
  /** The model version in use, once the first batch has loaded one. */
  modelVersion(): string | undefined;
  /** Stops following the registry and releases the models; the processor must be stopped first. */
  close(): Promise<void>;
};

export function financeScoring(
  topics = { input: 'finance.statements.raw', output: 'finance.statements.scored' },
  options: FinanceScoringOptions = {},
): FinanceScoringSpec {
  let current: LeasedModel<FinanceScorer> | undefined;
  let db: Pool | undefined;
  let watch: ActiveVersionWatch | undefined;
  let log: Logger | undefined;

  const releaseFailed = (error: Error, scorer: FinanceScorer) =>
    log?.warn({ err: error, version: scorer.modelVersion }, 'releasing a replaced model failed');

  const start = startOnce(async (watchLog: Logger) => {
    db ??= createPostgresPool(2);
    const pool = db;
    await registerBundledModels(pool);
    watch = await followActiveVersion(
      pool,
      FINANCE_MODEL_ID,
      (dir) => FinanceScorer.load({ dir }),
      (scorer) => {
        const previous = current;
        current = new LeasedModel(scorer, releaseFailed);
        previous?.retire();
      },
      { log: watchLog, checkIntervalMs: options.checkIntervalMs },
    );
  });

  return {
    name: 'finance-scoring',
    ...topics,
    modelVersion: () => current?.model.modelVersion,
    async close() {
      await watch?.close();
      current?.retire();
      current = undefined;
      await db?.end();
      db = undefined;
    },
    async transform(records, ctx) {
      const valid: { index: number; statement: Statement }[] = [];
      const results: TransformResult<ScoreRecord>[] = records.map((record, index) => {
        try {
          valid.push({ index, statement: parseStatement(record.value) });
          return [];
        } catch (error) {
          return error as Error;
        }
      });
      // a failed start (Postgres down) fails the batch, which is retried, and the start with it
      log ??= ctx.log;
      await start(ctx.log);
      const loaded = current;
      if (!loaded)
        throw new Error(`model ${FINANCE_MODEL_ID} has no active version: activate one with millrace models activate`);
      const scores: FinanceScore[] = await withLeases([loaded], () =>
        loaded.model.score(valid.map((v) => v.statement)),
      );
      valid.forEach(({ index }, i) => {
        const record = records[index]!;
        const { value } = record;
        results[index] = [
          {
            ...scores[i]!,
            ...lineageOf(record),
            company_id: value.company_id,
            period: value.period_end,
          },
        ];
      });
      return results;
    },
  };
}
