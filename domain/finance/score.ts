/**
 * Batch default-probability scoring. The three models are loaded once, each checked against the
 * manifest's sha256; a batch of N statements becomes one [N, 12] float64 tensor and one
 * session.run per model. The Altman zone, the ensemble and the category are then computed in
 * TypeScript (ensemble.ts), so category thresholds can change without rebuilding a model.
 *
 * A statement's score is the same to the bit whatever batch it is in (the API scores one, the
 * processor hundreds): onnxruntime's double Sigmoid runs SIMD packets over the rows and a scalar
 * loop over what is left, and the two differ in the last bit for about one probability in ten. So
 * a batch is padded to whole packets and each session runs on one thread (a thread's share of the
 * rows has a tail of its own).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { loadConfig } from '../../core/config.ts';
import { loadManifest, MODELS_DIR, readModel } from '../../models/finance/manifest.ts';
import { altman, FINANCE_MODELS, INPUT_NAME, ohlson, zmijewski } from '../../models/finance/models.ts';
import { altmanZone, ensembleProbability, riskCategory, riskThresholds, type RiskThresholds } from './ensemble.ts';
import type { Statement } from './statement.ts';
import { STATEMENT_AMOUNTS, type FinanceScore } from '../../schemas/records/finance.ts';

export interface ScorerOptions {
  /** where manifest.json and the .onnx files are; models/finance by default */
  dir?: string;
  thresholds?: Partial<RiskThresholds>;
}

/** Rows per run are a multiple of this: whole SIMD packets of doubles for SSE2 (2), AVX (4) and AVX-512 (8). */
export const ROW_MULTIPLE = 8;

interface Outputs {
  score: Float64Array;
  probability: Float64Array;
}

export class FinanceScorer {
  private constructor(
    private readonly sessions: ReadonlyMap<string, { session: InferenceSession; scoreOutput: string }>,
    readonly modelId: string,
    readonly modelVersion: string,
    readonly thresholds: RiskThresholds,
  ) {}

  static async load(options: ScorerOptions = {}): Promise<FinanceScorer> {
    const dir = options.dir ?? MODELS_DIR;
    const manifest = loadManifest(dir);
    // FINANCE_RISK_THRESHOLDS unless the caller gives its own
    const thresholds = riskThresholds(options.thresholds ?? loadConfig().FINANCE_RISK_THRESHOLDS);
    const sessionOptions: InferenceSession.SessionOptions = {
      executionMode: 'sequential',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    };
    const sessions = new Map<string, { session: InferenceSession; scoreOutput: string }>();
    for (const model of FINANCE_MODELS) {
      const entry = manifest.models.find((m) => m.id === model.id);
      if (!entry) throw new Error(`${dir}: the manifest has no model ${model.id}`);
      const session = await InferenceSession.create(readModel(dir, entry), sessionOptions);
      sessions.set(model.id, { session, scoreOutput: model.score.name });
    }
    return new FinanceScorer(sessions, manifest.id, manifest.version, thresholds);
  }

  /** Scores validated statements, in order; an empty batch runs nothing. */
  async score(statements: readonly Statement[]): Promise<FinanceScore[]> {
    if (statements.length === 0) return [];
    const outputs = await this.run(statements);
    const of = (id: string) => outputs.get(id)!;
    const [o, x, z] = [of(ohlson.id), of(zmijewski.id), of(altman.id)];
    return statements.map((statement, i) => {
      const probability = ensembleProbability(statement.period, (id) => of(id).probability[i]!);
      return {
        kind: statement.period,
        ohlson_probability: o.probability[i]!,
        zmijewski_probability: x.probability[i]!,
        altman_probability: z.probability[i]!,
        altman_z: z.score[i]!,
        altman_zone: altmanZone(z.score[i]!),
        probability,
        category: riskCategory(probability, this.thresholds),
        model_id: this.modelId,
        model_version: this.modelVersion,
      };
    });
  }

  /**
   * Each model's raw outputs for a batch, by model id: one session.run per model, on the rows
   * padded to a multiple of ROW_MULTIPLE with copies of the last statement (dropped from the outputs).
   */
  async run(statements: readonly Statement[]): Promise<Map<string, Outputs>> {
    const width = STATEMENT_AMOUNTS.length;
    const rows = Math.ceil(statements.length / ROW_MULTIPLE) * ROW_MULTIPLE;
    const data = new Float64Array(rows * width);
    for (let row = 0; row < rows; row++) {
      const statement = statements[Math.min(row, statements.length - 1)]!;
      STATEMENT_AMOUNTS.forEach((column, c) => (data[row * width + c] = statement[column]));
    }
    const feeds = { [INPUT_NAME]: new Tensor('float64', data, [rows, width]) };
    const outputs = new Map<string, Outputs>();
    // one after another: runs in parallel would take more cores than the session options allow
    for (const [id, { session, scoreOutput }] of this.sessions) {
      const result = await session.run(feeds);
      outputs.set(id, {
        score: (result[scoreOutput]!.data as Float64Array).subarray(0, statements.length),
        probability: (result.probability!.data as Float64Array).subarray(0, statements.length),
      });
    }
    return outputs;
  }

  async release(): Promise<void> {
    for (const { session } of this.sessions.values()) await session.release();
  }
}
