/**
 * `millrace train text-classifier --data FILE --text COL[,COL...] --label COL --out DIR [--id ID] [--version V]
 *   [--dimensions N] [--epochs N] [--register | --activate]`: trains the linear text classifier in TypeScript on a CSV (any
 * delimiter) or JSON-lines file as models/text-classifier/version.ts does (the API's genre model
 * jobs train the same way), and writes DIR/model.onnx with DIR/manifest.json (id, version, sha256,
 * labels, dimensions, inputs, outputs, held-out accuracy and macro-F1). Rows without text or label are
 * skipped and counted. `--register` stores the version in the model registry, `--activate` also
 * makes it the one the catalog processor uses (it switches without a restart).
 *
 * `millrace train tabular ...`: the multilayer perceptron on a file of rows (./train-tabular.ts).
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readRows } from '../../connectors/sources/uploads/rows.ts';
import { detectDelimiter, detectFormat } from '../../connectors/sources/uploads/file-shape.ts';
import { labelledExamples, trainVersion } from '../../models/text-classifier/version.ts';
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
  const { examples, skipped } = await labelledExamples(
    readRows(values.data, format, delimiter),
    { text: textColumns, label: values.label },
    values.data,
  );
  const id = values.id ?? path.basename(values.out);
  const version = values.version ?? new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const trained = await trainVersion(examples, {
    id,
    version,
    dimensions,
    epochs,
    data: path.basename(values.data),
    skipped,
  });
  await mkdir(values.out, { recursive: true });
  for (const [name, bytes] of trained.files) await writeFile(path.join(values.out, name), bytes);
  const quality = trained.heldOut;
  if (values.register || values.activate) {
    const db = createPostgresPool(1);
    try {
      await registerVersion(db, values.out, {
        description: `text classifier: ${trained.labels.length} labels, trained on ${path.basename(values.data)}`,
      });
      if (values.activate) await activateVersion(db, id, version);
    } finally {
      await db.end();
    }
  }
  process.stdout.write(
    `trained ${id}@${version} on ${examples.length} rows (${skipped} skipped), ${trained.labels.length} labels; held-out accuracy ${quality.accuracy.toFixed(3)}, macro-F1 ${quality.macroF1.toFixed(3)}; wrote ${values.out}/model.onnx${values.activate ? ', registered and activated' : values.register ? ', registered' : ''}\n`,
  );
  return 0;
}
