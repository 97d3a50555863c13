/**
 * `millrace train tabular --data FILE --target COL --task regression|binary|multiclass
 *   --features COL:KIND[,COL:KIND...] [--above X] [--id-column COL] [--hidden 32,16] [--epochs N]
 *   [--seed N] [--encoding one_hot|hashing] [--out DIR] [--id ID] [--version V]`: trains the
 * multilayer perceptron with its feature pipeline (models/tabular/train-rows.ts) on a JSON array,
 * JSON-lines or CSV file, prints the held-out metrics beside the baseline's and ONNX Runtime's
 * agreement with the in-process model, and with `--out` writes DIR/model.onnx and
 * DIR/manifest.json. KIND is numeric, timestamp, categorical or boolean. `--above X` makes a
 * binary target of a numeric column: "true" when the value exceeds X.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readRows } from '../../connectors/sources/uploads/rows.ts';
import { detectDelimiter, detectFormat } from '../../connectors/sources/uploads/file-shape.ts';
import type { ColumnKind, FeatureColumn, RawRow } from '../../models/tabular/feature-pipeline.ts';
import type { MlpTask } from '../../models/tabular/mlp.ts';
import { trainFromRows } from '../../models/tabular/train-rows.ts';
import { flags, positiveOption } from './options.ts';

const USAGE =
  'usage: millrace train tabular --data FILE --target COL --task regression|binary|multiclass --features COL:KIND[,COL:KIND] [--above X] [--id-column COL] [--hidden 32,16] [--epochs N] [--seed N] [--encoding one_hot|hashing] [--out DIR] [--id ID] [--version V]';
const TASKS = ['regression', 'binary', 'multiclass'];
const KINDS = ['numeric', 'timestamp', 'categorical', 'boolean'];

async function loadRows(file: string): Promise<RawRow[]> {
  const text = await readFile(file, 'utf8');
  if (
    text
      .replace(/^\uFEFF/, '')
      .trimStart()
      .startsWith('[')
  )
    return JSON.parse(text) as RawRow[];
  const format = detectFormat(text.slice(0, 64 * 1024));
  const rows: RawRow[] = [];
  for await (const row of readRows(
    file,
    format,
    format === 'csv' ? detectDelimiter(text.slice(0, 64 * 1024)) : undefined,
  )) {
    if ('error' in row) throw new Error(`${file}: row ${row.row}: ${row.error}`);
    rows.push(row.values);
  }
  return rows;
}

function featureColumns(spec: string): FeatureColumn[] {
  return spec.split(',').map((item) => {
    const at = item.lastIndexOf(':');
    const [name, kind] = [item.slice(0, at).trim(), item.slice(at + 1).trim()];
    if (at < 1 || !KINDS.includes(kind))
      throw new Error(`--features: "${item}" is not COL:KIND with KIND one of ${KINDS.join(', ')}`);
    return { name, kind: kind as ColumnKind };
  });
}

const figure = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(3));
const shown = (metrics: object) =>
  Object.entries(metrics)
    .filter(([k]) => k !== 'rows' && k !== 'classes')
    .map(([k, v]) => `${k} ${figure(v as number)}`)
    .join(', ');

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: true,
    options: flags(
      'string',
      'data',
      'target',
      'task',
      'features',
      'above',
      'id-column',
      'hidden',
      'epochs',
      'seed',
      'encoding',
      'out',
      'id',
      'version',
    ),
  });
  if (!values.data || !values.target || !values.task || !values.features) throw new Error(USAGE);
  if (!TASKS.includes(values.task)) throw new Error(`--task must be one of ${TASKS.join(', ')}, got "${values.task}"`);
  if (values.encoding && values.encoding !== 'one_hot' && values.encoding !== 'hashing')
    throw new Error(`--encoding must be one_hot or hashing, got "${values.encoding}"`);
  const above = values.above === undefined ? undefined : Number(values.above);
  if (above !== undefined && (!Number.isFinite(above) || values.task !== 'binary'))
    throw new Error('--above takes a number, with --task binary');
  const hidden = values.hidden?.split(',').map((h) => positiveOption('hidden', h)!);
  const epochs = positiveOption('epochs', values.epochs);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0))
    throw new Error(`--seed must be an integer >= 0, got "${values.seed}"`);

  const target = values.target;
  let rows = await loadRows(values.data);
  if (above !== undefined)
    rows = rows.map((row) => ({
      ...row,
      [target]:
        row[target] === null || row[target] === undefined || row[target] === '' ? null : Number(row[target]) > above,
    }));
  const idColumn = values['id-column'];
  const id = values.id ?? (values.out ? path.basename(values.out) : 'tabular-mlp');
  const version = values.version ?? new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const trained = await trainFromRows({
    rows,
    target,
    features: featureColumns(values.features),
    task: values.task as MlpTask,
    params: {
      ...(hidden ? { hidden } : {}),
      ...(epochs ? { max_epochs: epochs } : {}),
      ...(seed === undefined ? {} : { seed }),
    },
    pipeline: values.encoding ? { categorical_encoding: values.encoding as 'one_hot' | 'hashing' } : {},
    ...(idColumn ? { rowId: (row: RawRow) => String(row[idColumn]) } : {}),
    meta: { id, version },
  });

  const { model, agreement } = trained;
  const lines = [
    `trained ${id}@${version} (mlp ${trained.task}, layers ${[model.layers[0]!.inputs, ...model.layers.map((l) => l.outputs)].join('-')}) on ${trained.train_rows} rows, ${trained.holdout_rows} held out, ${trained.skipped_rows} skipped without a ${target}; ${model.epochs} epochs (best ${model.best_epoch}), ${(trained.training_ms / 1000).toFixed(1)} s`,
    `held out: ${shown(trained.metrics)}`,
    `baseline (${trained.task === 'regression' ? 'training mean' : 'majority class'}): ${shown(trained.baseline)}`,
    `ONNX Runtime vs in-process on ${agreement.rows} held-out rows: max |diff| ${agreement.max_abs_diff.toExponential(2)}, ${agreement.label_mismatches} label mismatches`,
  ];
  if (values.out) {
    await mkdir(values.out, { recursive: true });
    await writeFile(path.join(values.out, 'model.onnx'), trained.onnx);
    const sha256 = createHash('sha256').update(trained.onnx).digest('hex');
    const manifest = {
      id,
      version,
      models: [{ file: 'model.onnx', sha256 }],
      ...trained.manifest,
      data: path.basename(values.data),
    };
    await writeFile(path.join(values.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    lines.push(`wrote ${values.out}/model.onnx and manifest.json`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
