/**
 * A text classifier version from labelled rows, the one path the CLI (`millrace train
 * text-classifier`) and the API's genre model jobs share: rows become examples (chosen text
 * columns joined, a label column), a probe model trained on four fifths is measured on the fifth
 * held out (every fifth row), the model is retrained on everything and exported to ONNX, and the
 * version's files (model.onnx, manifest.json with labels, dimensions, inputs, outputs and the
 * held-out accuracy and macro-F1) are returned in memory.
 */
import { createHash } from 'node:crypto';
import { evaluate } from './evaluate.ts';
import { predict, trainInSteps } from './model.ts';
import { exportOnnx } from './onnx.ts';
import { MillraceError } from '../../core/errors.ts';

/** A row as the upload reader gives it: its values by column, or why it could not be read. */
export type LabelledRow = { row: number; values: Record<string, string> } | { row: number; error: string };

export interface Example {
  text: string;
  label: string;
}

/** Rows that cannot make a model: a column missing, too few usable rows, too large a model. */
export class TrainingDataError extends MillraceError {
  override name = 'TrainingDataError';
  constructor(message: string, field: string) {
    super(message, { code: 'training_data', status: 400, details: { field } });
  }
}

/** At least this many usable rows: a fifth of them is the held-out set. */
export const MIN_ROWS = 10;
/** dimensions x labels weights (and as many Adagrad sums) a training may hold: 256 MiB of float32. */
export const MAX_WEIGHTS = 1 << 25;

/**
 * Examples from rows: the `text` columns joined by a space, the `label` column, both trimmed.
 * Rows that could not be read, or lack a text or label, are skipped and counted; a row without
 * one of the columns is refused, naming it (`where` names the data in messages).
 */
export async function labelledExamples(
  rows: AsyncIterable<LabelledRow>,
  columns: { text: readonly string[]; label: string },
  where: string,
): Promise<{ examples: Example[]; skipped: number }> {
  const examples: Example[] = [];
  let skipped = 0;
  for await (const row of rows) {
    if ('error' in row) {
      skipped++;
      continue;
    }
    for (const column of [...columns.text, columns.label]) {
      if (!(column in row.values))
        throw new TrainingDataError(
          `${where} has no column ${JSON.stringify(column)} (row ${row.row} has ${Object.keys(row.values).join(', ')})`,
          column === columns.label ? 'label' : 'text',
        );
    }
    const text = columns.text
      .map((c) => row.values[c]!)
      .join(' ')
      .trim();
    const label = row.values[columns.label]!.trim();
    if (text && label) examples.push({ text, label });
    else skipped++;
  }
  if (examples.length < MIN_ROWS)
    throw new TrainingDataError(`${where}: ${examples.length} usable rows; at least ${MIN_ROWS} are needed`, 'upload');
  return { examples, skipped };
}

export interface VersionOptions {
  id: string;
  version: string;
  /** A power of two: hashed feature buckets. */
  dimensions: number;
  epochs: number;
  seed?: number;
  /** What the rows came from, recorded in the manifest (a file name, an upload). */
  data: string;
  skipped: number;
  /** Anything else the manifest's `training` records (the job, the columns). */
  lineage?: Record<string, unknown>;
}

export interface TrainedVersion {
  /** The version's files by name: manifest.json and model.onnx. */
  files: Map<string, Buffer>;
  manifest: Record<string, unknown>;
  labels: string[];
  heldOut: { rows: number; accuracy: number; macroF1: number };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function trainVersion(examples: readonly Example[], options: VersionOptions): Promise<TrainedVersion> {
  const { dimensions, epochs, seed = 1 } = options;
  if (dimensions < 2 || (dimensions & (dimensions - 1)) !== 0)
    throw new TrainingDataError(`dimensions must be a power of two, got ${dimensions}`, 'dimensions');
  const labelCount = new Set(examples.map((e) => e.label)).size;
  if (dimensions * labelCount > MAX_WEIGHTS)
    throw new TrainingDataError(
      `${labelCount} labels x ${dimensions} dimensions is past ${MAX_WEIGHTS} weights: use fewer dimensions`,
      'dimensions',
    );
  const heldOut = examples.filter((_, i) => i % 5 === 0);
  const probe = await trainInSteps(
    examples.filter((_, i) => i % 5 !== 0),
    { dimensions, epochs, seed },
  );
  const quality = evaluate(
    heldOut.map((e) => e.label),
    heldOut.map((e) => predict(probe, e.text).label),
  );
  const model = await trainInSteps([...examples], { dimensions, epochs, seed });
  const onnx = Buffer.from(exportOnnx(model, { id: options.id, version: options.version }));
  const digest = sha256(onnx);
  const manifest = {
    id: options.id,
    version: options.version,
    kind: 'text-classifier',
    file: 'model.onnx',
    sha256: digest,
    // the registry's list of files (models/model-registry.ts)
    models: [{ file: 'model.onnx', sha256: digest }],
    labels: model.labels,
    dimensions,
    inputs: [
      {
        name: 'indices',
        type: 'int64 [N, K]',
        description: 'hashed feature buckets of each text (models/text-classifier/features.ts), padded with 0',
      },
      { name: 'values', type: 'float [N, K]', description: 'their L2-normalised log counts, padded with 0' },
    ],
    outputs: [
      {
        name: 'probabilities',
        type: `float [N, ${model.labels.length}]`,
        description: 'softmax over labels, in manifest order',
      },
    ],
    training: {
      data: options.data,
      ...options.lineage,
      rows: examples.length,
      skipped: options.skipped,
      epochs,
      seed,
      heldOut: { rows: heldOut.length, ...quality },
    },
  };
  const files = new Map([
    ['model.onnx', onnx],
    ['manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)],
  ]);
  return { files, manifest, labels: model.labels, heldOut: { rows: heldOut.length, ...quality } };
}
