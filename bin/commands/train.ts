/**
 * `millrace train text-classifier --data FILE --text COL[,COL...] --label COL --out DIR [--id ID] [--version V]
 *   [--dimensions N] [--epochs N] [--register | --activate]`: trains the linear text classifier in TypeScript on a CSV (any
 * delimiter) or JSON-lines file, measures it on a fixed fifth held out (every fifth row), retrains
 * on everything, and writes DIR/model.onnx with DIR/manifest.json (id, version, sha256, labels,
 * dimensions, inputs, outputs, held-out accuracy and macro-F1). Rows without text or label are
 * skipped and counted. `--register` stores the version in the model registry, `--activate` also
 * makes it the one the catalog processor uses (it switches without a restart).
 *
 * `millrace train tabular ...`: the multilayer perceptron on a file of rows (./train-tabular.ts).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readRows } from '../../connectors/sources/uploads/rows.ts';
import { detectDelimiter, detectFormat } from '../../connectors/sources/uploads/file-shape.ts';
import { evaluate } from '../../models/text-classifier/evaluate.ts';
import { predict, train } from '../../models/text-classifier/model.ts';
import { exportOnnx } from '../../models/text-classifier/onnx.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { activateVersion, registerVersion } from '../../models/model-registry.ts';
import { flags, positiveOption } from './options.ts';

const USAGE =
  'usage: millrace train text-classifier --data FILE --text COL[,COL] --label COL --out DIR [--id ID] [--version V] [--dimensions N] [--epochs N] [--register | --activate]';

export async function run(args: string[]): Promise<number> {
  if (args[0] === 'tabular') return (await import('./train-tabular.ts')).run(args.slice(1));
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...flags('string', 'data', 'text', 'label', 'out', 'id', 'version', 'dimensions', 'epochs'),
      ...flags('boolean', 'register', 'activate'),
    },
  });
  if (positionals[0] !== 'text-classifier' || !values.data || !values.text || !values.label || !values.out)
    throw new Error(USAGE);
  const dimensions = positiveOption('dimensions', values.dimensions) ?? 1 << 17;
  if ((dimensions & (dimensions - 1)) !== 0) throw new Error(`--dimensions must be a power of two, got ${dimensions}`);
  const epochs = positiveOption('epochs', values.epochs) ?? 5;
  const textColumns = values.text.split(',').map((c) => c.trim());

  const file = await open(values.data);
  const { buffer, bytesRead } = await file.read({ buffer: Buffer.alloc(64 * 1024) }).finally(() => file.close());
  const head = buffer.subarray(0, bytesRead).toString('utf8');
  const format = detectFormat(head);
  const delimiter = format === 'csv' ? detectDelimiter(head) : undefined;
  const examples: { text: string; label: string }[] = [];
  let skipped = 0;
  for await (const row of readRows(values.data, format, delimiter)) {
    if ('error' in row) {
      skipped++;
      continue;
    }
    for (const column of [...textColumns, values.label]) {
      if (!(column in row.values))
        throw new Error(
          `${values.data} has no column ${JSON.stringify(column)} (row ${row.row} has ${Object.keys(row.values).join(', ')})`,
        );
    }
    const text = textColumns
      .map((c) => row.values[c]!)
      .join(' ')
      .trim();
    const label = row.values[values.label]!.trim();
    if (text && label) examples.push({ text, label });
    else skipped++;
  }
  if (examples.length < 10) throw new Error(`${values.data}: ${examples.length} usable rows; at least 10 are needed`);

  const heldOut = examples.filter((_, i) => i % 5 === 0);
  const probe = train(
    examples.filter((_, i) => i % 5 !== 0),
    { dimensions, epochs },
  );
  const quality = evaluate(
    heldOut.map((e) => e.label),
    heldOut.map((e) => predict(probe, e.text).label),
  );
  const model = train(examples, { dimensions, epochs });

  const id = values.id ?? path.basename(values.out);
  const version = values.version ?? new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const bytes = exportOnnx(model, { id, version });
  await mkdir(values.out, { recursive: true });
  await writeFile(path.join(values.out, 'model.onnx'), bytes);
  const manifest = {
    id,
    version,
    kind: 'text-classifier',
    file: 'model.onnx',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    // the registry's list of files (models/registry.ts)
    models: [{ file: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex') }],
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
      data: path.basename(values.data),
      rows: examples.length,
      skipped,
      epochs,
      heldOut: { rows: heldOut.length, ...quality },
    },
  };
  await writeFile(path.join(values.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (values.register || values.activate) {
    const db = createPostgresPool(1);
    try {
      await registerVersion(db, values.out, {
        description: `text classifier: ${model.labels.length} labels, trained on ${path.basename(values.data)}`,
      });
      if (values.activate) await activateVersion(db, id, version);
    } finally {
      await db.end();
    }
  }
  process.stdout.write(
    `trained ${id}@${version} on ${examples.length} rows (${skipped} skipped), ${model.labels.length} labels; held-out accuracy ${quality.accuracy.toFixed(3)}, macro-F1 ${quality.macroF1.toFixed(3)}; wrote ${values.out}/model.onnx${values.activate ? ', registered and activated' : values.register ? ', registered' : ''}\n`,
  );
  return 0;
}
