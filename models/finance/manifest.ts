/**
 * The registry metadata of the finance models (models/finance/manifest.json), written by build.ts.
 * A reader gets a model's bytes only through `readModel`, which refuses a file whose sha256 is not
 * the manifest's: a scorer never runs a model other than the one its scores will name.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../../core/package-root.ts';

/** The registry id the bundled finance ensembles are registered and scored under. */
export const FINANCE_MODEL_ID = 'finance.default-probability';
export const MODELS_DIR = path.join(packageRoot, 'models', 'finance');
export const MANIFEST_FILE = 'manifest.json';

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const tensor = z.object({ name: z.string(), type: z.string(), shape: z.array(z.union([z.string(), z.number()])) });

const modelEntry = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  file: z.string().regex(/^[\w.-]+\.onnx$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  inputs: z.array(tensor.extend({ columns: z.array(z.string()) })),
  outputs: z.array(tensor.extend({ description: z.string() })),
});

/** What readers rely on; the manifest carries more (sources, formulas, the Altman mapping) for people. */
const manifestSchema = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  models: z.array(modelEntry).min(1),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ModelEntry = z.infer<typeof modelEntry>;

export function loadManifest(dir = MODELS_DIR): Manifest {
  return manifestSchema.parse(JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')));
}

export function readModel(dir: string, entry: ModelEntry): Uint8Array {
  const bytes = readFileSync(path.join(dir, entry.file));
  const actual = sha256(bytes);
  if (actual !== entry.sha256)
    throw new Error(
      `${entry.file}: sha256 ${actual} is not the manifest's ${entry.sha256}; rebuild with models/finance/build.ts`,
    );
  return bytes;
}
