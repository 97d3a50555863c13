/**
 * Writes the finance models (one .onnx per model) and manifest.json into models/finance/.
 * Deterministic: the same sources give byte-identical files, so the committed ones can be checked
 * by rebuilding. Run: node --import tsx models/finance/build.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IR_VERSION, OPSET } from './graph.ts';
import { MANIFEST_FILE, MODELS_DIR, sha256 } from './manifest.ts';
import {
  ALTMAN_PROBABILITY_MAPPING,
  ALTMAN_ZONES,
  ENSEMBLES,
  FINANCE_MODELS,
  INPUT_NAME,
  altman,
  buildGraph,
  onnxFileOf,
  type FinanceModel,
} from './models.ts';
import { STATEMENT_AMOUNTS } from '../../schemas/records/finance.ts';

export const MANIFEST_ID = 'finance.default-probability';
/** Bump when any model, the Altman mapping or an ensemble changes: scores name this version. */
export const MANIFEST_VERSION = '1.0.0';

function entry(model: FinanceModel, bytes: Uint8Array) {
  return {
    id: model.id,
    version: model.version,
    file: onnxFileOf(model),
    sha256: sha256(bytes),
    ir_version: IR_VERSION,
    opset: OPSET,
    precision: model.precision,
    inputs: [
      {
        name: INPUT_NAME,
        type: 'tensor(double)',
        shape: ['N', STATEMENT_AMOUNTS.length],
        columns: [...STATEMENT_AMOUNTS],
      },
    ],
    outputs: [model.score, { name: 'probability', description: model.probability }].map((o) => ({
      name: o.name,
      type: 'tensor(double)',
      shape: ['N'],
      description: o.description,
    })),
    source: model.source,
    formula: model.formula,
    ...(model === altman
      ? {
          zones: {
            safe: `Z > ${ALTMAN_ZONES.safeAbove}`,
            grey: `${ALTMAN_ZONES.distressBelow} <= Z <= ${ALTMAN_ZONES.safeAbove}`,
            distress: `Z < ${ALTMAN_ZONES.distressBelow}`,
          },
          probability_mapping: ALTMAN_PROBABILITY_MAPPING,
        }
      : {}),
  };
}

export function buildFinanceModels(dir = MODELS_DIR) {
  mkdirSync(dir, { recursive: true });
  const models = FINANCE_MODELS.map((model) => {
    const bytes = buildGraph(model).encode({
      docString: `${model.formula}\n${model.source}`,
      producerVersion: model.version,
      metadata: { model_id: model.id, model_version: model.version },
    });
    writeFileSync(path.join(dir, onnxFileOf(model)), bytes);
    return entry(model, bytes);
  });
  const manifest = {
    id: MANIFEST_ID,
    version: MANIFEST_VERSION,
    units: 'statement currency, millions; price_level_index 100 at the base year (default 100)',
    models,
    ensembles: {
      computed_in:
        'TypeScript (processors/finance/ensemble.ts), on the models outputs; risk categories there too, with configurable thresholds',
      ...Object.fromEntries(
        Object.entries(ENSEMBLES).map(([kind, members]) => [kind, { mean_of: members.map((m) => m.id) }]),
      ),
    },
  };
  writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const m of buildFinanceModels().models) process.stdout.write(`${m.file} ${m.sha256}\n`);
}
