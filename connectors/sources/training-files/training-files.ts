/**
 * Training files: a tenant's CSV (any delimiter), JSON lines or Parquet file, streamed to disk under
 * the upload cap as every upload is (uploads/spool.ts: past the cap a 413, and nothing kept; text
 * in UTF-16 or Windows-1252, declared or detected, is kept as UTF-8),
 * inspected on arrival (inspect.ts) and recorded in Postgres; then made into versions of training
 * datasets, their rows landed in ClickHouse (dataset-load.ts). A version is shown only once all its
 * rows are in (models/tabular/uploaded-datasets.ts).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ClickHouseClient } from '../../../core/clickhouse.ts';
import type { Logger } from '../../../core/logger.ts';
import { cursorTime, keysetPage, pageOf } from '../../../core/keyset-pages.ts';
import type { Pool } from '../../../core/postgres.ts';
import {
  dropVersionRows,
  markFailed,
  markReady,
  reserveVersion,
  type ColumnType,
  type Task,
  type TypedColumn,
  type UploadedDataset,
  type UploadedDefinition,
} from '../../../models/tabular/uploaded-datasets.ts';
import { charsetOf, charsetParameter, toUtf8, type Encoding } from '../uploads/charset.ts';
import { detectDelimiter, detectFormat } from '../uploads/file-shape.ts';
import { spoolBody } from '../uploads/spool.ts';
import { refuseMultipart, UploadError } from '../uploads/upload-error.ts';
import { loadRows } from './dataset-load.ts';
import { PARQUET_MAGIC, type TrainingFormat } from './file-rows.ts';
import { inspectFile, type Inspection } from './inspect.ts';

export interface TrainingFile {
  id: string;
  filename: string | null;
  format: TrainingFormat;
  delimiter: string | null;
  bytes: number;
  rows: number;
  good_rows: number;
  bad_rows: number;
  columns: TypedColumn[];
  created_at: string;
}

export interface ReceiveTrainingFile {
  filename?: string;
  contentType?: string;
  /** the format, when the content type does not say it */
  format?: TrainingFormat;
  /** a CSV's delimiter, when it is not to be found from the first lines */
  delimiter?: string;
  /** the text's encoding (a charset label), when neither the content type says it nor it is to be detected */
  charset?: string;
  maxBytes: number;
}

export interface FileDatasetInput {
  name: string;
  source: { file: string };
  target: string;
  features: string[];
  task?: Task;
  /** a column's type instead of the inferred one */
  types?: Record<string, ColumnType>;
}

/** Classes a multiclass target may have. */
const MAX_CLASSES = 1000;

/** The format: as declared, else by the content type, else by the first bytes. */
function formatOf(
  declared: TrainingFormat | undefined,
  contentType: string,
  head: string,
  parquet: boolean,
): TrainingFormat {
  if (declared) return declared;
  if (/parquet/i.test(contentType) || parquet) return 'parquet';
  return detectFormat(head, contentType);
}

/** Rewrites a text file received in another encoding as UTF-8, in place: every later read is UTF-8. */
async function keepAsUtf8(file: string, encoding: Encoding): Promise<void> {
  if (encoding === 'utf-8') return;
  await pipeline(createReadStream(file), toUtf8(encoding), createWriteStream(`${file}.utf8`));
  await rename(`${file}.utf8`, file);
}

/** Whether the file starts and ends with Parquet's magic. */
async function looksLikeParquet(file: string, bytes: number): Promise<boolean> {
  if (bytes < 12) return false;
  const handle = await open(file);
  try {
    const start = Buffer.alloc(4);
    const end = Buffer.alloc(4);
    await handle.read(start, 0, 4, 0);
    await handle.read(end, 0, 4, bytes - 4);
    return start.toString('latin1') === PARQUET_MAGIC && end.toString('latin1') === PARQUET_MAGIC;
  } finally {
    await handle.close();
  }
}

/** The task a target's type calls for when none is named, and whether a named one fits. */
function taskFor(target: TypedColumn, distinct: number, task: Task | undefined): Task {
  if (target.type === 'text' || target.type === 'timestamp')
    throw new UploadError(
      400,
      `the target ${JSON.stringify(target.name)} is ${target.type}; a target is numeric (regression), boolean or categorical (classification): declare its type in "types"`,
      'target',
    );
  const chosen = task ?? (target.type === 'numeric' ? 'regression' : distinct === 2 ? 'binary' : 'multiclass');
  if (chosen === 'regression' && target.type !== 'numeric')
    throw new UploadError(400, `regression needs a numeric target; ${target.name} is ${target.type}`, 'task');
  return chosen;
}

/** A classification's classes as landed: two for binary, two to MAX_CLASSES for multiclass. */
function classProblem(task: Task, classes: number): string | undefined {
  if (task === 'binary' && classes !== 2) return `binary classification needs 2 classes; the target has ${classes}`;
  if (task === 'multiclass' && (classes < 2 || classes > MAX_CLASSES))
    return `multiclass classification needs 2 to ${MAX_CLASSES} classes; the target has ${classes}`;
  return undefined;
}

interface StoredFile {
  id: string;
  filename: string | null;
  format: TrainingFormat;
  delimiter: string | null;
  bytes: string;
  inspection: Inspection;
  created_at: Date;
}

const trainingFileOf = ({ inspection, bytes, created_at, ...file }: StoredFile): TrainingFile => ({
  ...file,
  bytes: Number(bytes),
  rows: inspection.rows,
  good_rows: inspection.good_rows,
  bad_rows: inspection.bad_rows,
  columns: inspection.columns.map(({ name, type }) => ({ name, type })),
  created_at: created_at.toISOString(),
});

export class TrainingFiles {
  constructor(
    private readonly db: Pool,
    private readonly clickhouse: ClickHouseClient,
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  private fileOf(id: string): string {
    return path.join(this.dir, id, 'original');
  }

  /**
   * Streams a body to disk (413 past `maxBytes`, nothing kept), tells its format and delimiter,
   * inspects it and records it. A file that cannot be read as its format is refused (400, 415) and
   * removed.
   */
  async receive(
    tenantId: string,
    body: ReadableStream<Uint8Array> | null,
    options: ReceiveTrainingFile,
  ): Promise<TrainingFile> {
    if (!body) throw new UploadError(400, 'the request has no body: send the file as the body');
    refuseMultipart(options.contentType);
    const id = randomUUID();
    const file = this.fileOf(id);
    const label = options.charset ?? charsetParameter(options.contentType);
    const declared = label === undefined ? undefined : charsetOf(label);
    if (typeof declared === 'object') throw new UploadError(400, declared.problem, 'charset');
    const { bytes, head, encoding } = await spoolBody(body, file, {
      maxBytes: options.maxBytes,
      declared,
      binary: true,
    });
    try {
      const parquet = await looksLikeParquet(file, bytes);
      const format = formatOf(options.format, options.contentType ?? '', head, parquet);
      if (format === 'parquet' && !parquet)
        throw new UploadError(400, 'the file is not Parquet: it does not start and end with PAR1', 'format');
      if (format !== 'parquet' && head.includes('\0'))
        throw new UploadError(415, `the file is binary, not ${format === 'csv' ? 'CSV' : 'JSON lines'} text`);
      if (format !== 'parquet') await keepAsUtf8(file, encoding);
      const delimiter = format === 'csv' ? (options.delimiter ?? detectDelimiter(head)) : null;
      const inspection = await this.inspect(file, format, delimiter);
      await this.db.query(
        'INSERT INTO training_files (id, tenant_id, filename, format, delimiter, bytes, inspection) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [id, tenantId, options.filename ?? null, format, delimiter, bytes, JSON.stringify(inspection)],
      );
    } catch (error) {
      await rm(path.dirname(file), { recursive: true, force: true });
      throw error;
    }
    return this.get(tenantId, id);
  }

  private async inspect(file: string, format: TrainingFormat, delimiter: string | null): Promise<Inspection> {
    try {
      return await inspectFile(file, format, delimiter);
    } catch (error) {
      if (error instanceof UploadError || format !== 'parquet') throw error;
      // hyparquet's own errors: the file claims to be Parquet but its footer or pages are not
      throw new UploadError(400, `the Parquet file cannot be read: ${(error as Error).message}`, 'format');
    }
  }

  private async stored(tenantId: string, id: string, field = 'id'): Promise<StoredFile> {
    const { rows } = await this.db.query<StoredFile>(
      'SELECT id, filename, format, delimiter, bytes, inspection, created_at FROM training_files WHERE id = $1 AND tenant_id = $2',
      [id, tenantId],
    );
    if (!rows[0]) throw new UploadError(404, `no training file "${id}"`, field);
    return rows[0];
  }

  async get(tenantId: string, id: string): Promise<TrainingFile> {
    return trainingFileOf(await this.stored(tenantId, id));
  }

  /** A page of the tenant's training files, newest first. */
  async list(
    tenantId: string,
    query: { limit: number; cursor?: string },
  ): Promise<{ files: TrainingFile[]; next_cursor: string | null }> {
    const page = keysetPage('created_at', 'id', query, 2);
    const { rows } = await this.db.query<StoredFile & { page_at: string; page_key: string }>(
      `SELECT id, filename, format, delimiter, bytes, inspection, created_at, ${cursorTime('created_at')} AS page_at, id::text AS page_key
         FROM training_files WHERE tenant_id = $1 AND ${page.where} ${page.orderAndLimit}`,
      [tenantId, ...page.params],
    );
    const { items, next_cursor } = pageOf(rows, query.limit);
    return { files: items.map(trainingFileOf), next_cursor };
  }

  /**
   * Deletes a training file and its row (404: not the tenant's). Datasets made from it keep their
   * rows, landed in ClickHouse when they were made; a new dataset can no longer name it.
   */
  async remove(tenantId: string, id: string): Promise<void> {
    await this.stored(tenantId, id);
    await this.db.query('DELETE FROM training_files WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    await rm(path.dirname(this.fileOf(id)), { recursive: true, force: true });
  }

  /** Each column's inferred type and profile, the row counts and the first bad rows. */
  async columns(tenantId: string, id: string): Promise<Inspection> {
    return (await this.stored(tenantId, id)).inspection;
  }

  /** The definition a request names: its columns in the file, typed (inferred or declared), and its task. */
  private async definitionOf(
    tenantId: string,
    input: FileDatasetInput,
  ): Promise<{ stored: StoredFile; definition: UploadedDefinition }> {
    const stored = await this.stored(tenantId, input.source.file, 'source.file');
    const known = new Map(stored.inspection.columns.map((c) => [c.name, c]));
    const types = new Map(Object.entries(input.types ?? {}));
    const column = (name: string, field: string): TypedColumn => {
      const found = known.get(name);
      if (!found)
        throw new UploadError(
          400,
          `the file has no column ${JSON.stringify(name)}; it has ${[...known.keys()].map((k) => JSON.stringify(k)).join(', ')}`,
          field,
        );
      return { name, type: types.get(name) ?? found.type };
    };
    for (const name of types.keys()) column(name, `types.${name}`);
    const target = column(input.target, 'target');
    const features = input.features.map((f, i) => column(f, `features.${i}`));
    if (new Set(input.features).size !== input.features.length)
      throw new UploadError(400, 'a feature is named twice', 'features');
    const asTarget = input.features.indexOf(input.target);
    if (asTarget >= 0) throw new UploadError(400, 'the target cannot be a feature too', `features.${asTarget}`);
    const task = taskFor(target, known.get(target.name)!.distinct, input.task);
    return {
      stored,
      definition: {
        source: { file: stored.id, filename: stored.filename, format: stored.format },
        target,
        task,
        features,
      },
    };
  }

  /**
   * Makes the file's rows the next version of the tenant's dataset `input.name` (or returns the
   * latest version when it has the same definition: `created` false). The version is shown only
   * once every row is in ClickHouse; a load that fails leaves it unseen and its rows removed.
   */
  async createDataset(
    tenantId: string,
    input: FileDatasetInput,
  ): Promise<{ dataset: UploadedDataset; created: boolean }> {
    const { stored, definition } = await this.definitionOf(tenantId, input);
    const reserved = await reserveVersion(this.db, tenantId, input.name, definition);
    if (!reserved.created) return { dataset: reserved.dataset, created: false };
    const { version } = reserved;
    const target = { clickhouse: this.clickhouse, tenantId, name: input.name, version };
    try {
      const profile = await loadRows(
        target,
        { path: this.fileOf(stored.id), format: stored.format, delimiter: stored.delimiter },
        definition,
      );
      const first = profile.refused[0];
      if (profile.rows === 0)
        throw new UploadError(
          400,
          `no row of the file can be used${first ? `: row ${first.row_number}: ${first.reason}` : ''}`,
          'source.file',
        );
      const problem =
        'classes' in profile.label_balance
          ? classProblem(definition.task, profile.label_balance.classes.length)
          : undefined;
      if (problem) throw new UploadError(400, problem, input.task ? 'task' : 'target');
      return { dataset: await markReady(this.db, tenantId, input.name, version, profile), created: true };
    } catch (error) {
      await markFailed(this.db, tenantId, input.name, version);
      await dropVersionRows(this.clickhouse, tenantId, input.name, version).catch((e: Error) =>
        this.log.warn({ err: e, dataset: input.name, version }, 'the rows of a failed load stay (never shown)'),
      );
      throw error;
    }
  }
}
