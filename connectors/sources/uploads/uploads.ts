/**
 * The upload source connector: files are streamed to disk under a size cap, described (columns
 * and inferred types from a sample), then processed: one Avro record per row to catalog.rows.raw
 * with the selected columns, refused rows recorded with their number and reason. Progress lives
 * in Postgres, so any API instance can report it.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Message } from 'kafkajs';
import type { Logger } from '../../../core/logger.ts';
import { cursorTime, keysetPage, pageOf } from '../../../core/keyset-pages.ts';
import { inTransaction, type Pool } from '../../../core/postgres.ts';
import { chunkMessages, messageBytes } from '../../../core/message-chunks.ts';
import type { AvroProducer } from '../../../core/producer.ts';
import { readHeader, readRows, type Row } from './rows.ts';
import { inferType, type ColumnType, type Format } from './file-shape.ts';
import { receiveFile, type ReceiveOptions } from './spool.ts';
import type { Encoding } from './charset.ts';
import { UploadError } from './upload-error.ts';

export const ROWS_TOPIC = 'catalog.rows.raw';
const SAMPLE_ROWS = 200;
const BATCH = 500;
/** The broker takes records up to message.max.bytes (1 MiB and 12 bytes, with the batch framing). */
const MAX_RECORD_BYTES = 1000 * 1000;

export interface Upload {
  id: string;
  filename: string | null;
  format: Format;
  delimiter: string | null;
  /** the text encoding it was read in: declared, or detected */
  encoding: Encoding;
  bytes: number;
  state: 'uploaded' | 'processing' | 'processed' | 'failed';
  columns: string[] | null;
  total_rows: number | null;
  published_rows: number;
  rejected_rows: number;
  error: string | null;
  created_at: string;
}

const UPLOAD_COLUMNS =
  'id, filename, format, delimiter, encoding, bytes, state, columns, total_rows, published_rows, rejected_rows, error, created_at';
type UploadRow = Omit<Upload, 'created_at' | 'bytes'> & { created_at: Date; bytes: string };
const uploadOf = (row: UploadRow): Upload => ({
  ...row,
  bytes: Number(row.bytes),
  created_at: row.created_at.toISOString(),
});

export class Uploads {
  constructor(
    private readonly db: Pool,
    private readonly dir: string,
    private readonly producer: AvroProducer,
    private readonly log: Logger,
    /** Where processed rows go (a test gives its own topic with the same schema). */
    private readonly topic: string = ROWS_TOPIC,
  ) {}

  private fileOf(id: string): string {
    return path.join(this.dir, id, 'original');
  }

  /**
   * Streams a body to disk, refusing it past `maxBytes` (413), when it is not text (415) or not
   * valid in its declared charset (400).
   */
  async receive(tenantId: string, body: ReadableStream<Uint8Array> | null, options: ReceiveOptions): Promise<Upload> {
    const id = randomUUID();
    const { bytes, format, delimiter, encoding } = await receiveFile(body, this.fileOf(id), options);
    await this.db.query(
      'INSERT INTO uploads (id, tenant_id, filename, format, delimiter, encoding, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [id, tenantId, options.filename ?? null, format, delimiter, encoding, bytes],
    );
    return this.get(tenantId, id);
  }

  async get(tenantId: string, id: string): Promise<Upload> {
    const { rows } = await this.db.query<UploadRow>(
      `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    const row = rows[0];
    if (!row) throw new UploadError(404, `no upload "${id}"`, 'id');
    return uploadOf(row);
  }

  /** A page of the tenant's uploads, newest first. */
  async list(
    tenantId: string,
    query: { limit: number; cursor?: string },
  ): Promise<{ uploads: Upload[]; next_cursor: string | null }> {
    const page = keysetPage('created_at', 'id', query, 2);
    const { rows } = await this.db.query<UploadRow & { page_at: string; page_key: string }>(
      `SELECT ${UPLOAD_COLUMNS}, ${cursorTime('created_at')} AS page_at, id AS page_key FROM uploads
       WHERE tenant_id = $1 AND ${page.where} ${page.orderAndLimit}`,
      [tenantId, ...page.params],
    );
    const { items, next_cursor } = pageOf(rows, query.limit);
    return { uploads: items.map(uploadOf), next_cursor };
  }

  /**
   * Deletes an upload: its classified rows (`dropRows`, ClickHouse), its rejections and row, and
   * its file. Refused (409) while it is being processed or a genre model job reads it.
   */
  async remove(tenantId: string, id: string, dropRows: () => Promise<void>): Promise<void> {
    const upload = await this.get(tenantId, id);
    if (upload.state === 'processing')
      throw new UploadError(409, `upload "${id}" is being processed: delete it once it is processed`, 'id');
    const { rows: jobs } = await this.db.query<{ id: string; status: string }>(
      "SELECT id, status FROM genre_model_jobs WHERE tenant_id = $1 AND upload_id = $2 AND status IN ('queued', 'running') LIMIT 1",
      [tenantId, id],
    );
    if (jobs[0])
      throw new UploadError(409, `upload "${id}" is read by genre model job ${jobs[0].id} (${jobs[0].status})`, 'id');
    await dropRows();
    await inTransaction(this.db, async (client) => {
      await client.query('DELETE FROM upload_rejections WHERE upload_id = $1', [id]);
      await client.query('DELETE FROM uploads WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    });
    await rm(path.dirname(this.fileOf(id)), { recursive: true, force: true });
  }

  /** The header and each column's type, inferred from the first rows, and the encoding they were read in. */
  async columns(
    tenantId: string,
    id: string,
  ): Promise<{
    encoding: Encoding;
    columns: { name: string; type: ColumnType }[];
    sample: Record<string, string>[];
    rejected_in_sample: number;
  }> {
    const upload = await this.get(tenantId, id);
    const sample: Record<string, string>[] = [];
    let rejected = 0;
    for await (const row of readRows(this.fileOf(id), upload.format, upload.delimiter ?? ',', upload.encoding)) {
      if ('values' in row) sample.push(row.values);
      else rejected += 1;
      if (sample.length >= SAMPLE_ROWS) break;
    }
    const names =
      upload.format === 'csv'
        ? await readHeader(this.fileOf(id), upload.delimiter ?? ',', upload.encoding)
        : [...new Set(sample.flatMap((r) => Object.keys(r)))];
    return {
      encoding: upload.encoding,
      columns: names.map((name) => ({ name, type: inferType(sample.map((r) => r[name] ?? '')) })),
      sample: sample.slice(0, 5),
      rejected_in_sample: rejected,
    };
  }

  /** The rows of one of the tenant's uploads, read from its file one at a time (404: no such upload). */
  async rows(tenantId: string, id: string): Promise<AsyncGenerator<Row>> {
    const upload = await this.get(tenantId, id);
    return readRows(this.fileOf(id), upload.format, upload.delimiter ?? ',');
  }

  /** Starts publishing the rows in the background; progress is in `get`. */
  async process(tenantId: string, id: string, columns: string[], taxonomy: string | null): Promise<Upload> {
    const { columns: known } = await this.columns(tenantId, id);
    const names = new Set(known.map((c) => c.name));
    columns.forEach((c, i) => {
      if (!names.has(c))
        throw new UploadError(400, `column "${c}" is not in the file; it has ${[...names].join(', ')}`, `columns.${i}`);
    });
    const { rowCount } = await this.db.query(
      "UPDATE uploads SET state = 'processing', columns = $3, taxonomy = $4, updated_at = now() WHERE id = $1 AND tenant_id = $2 AND state = 'uploaded'",
      [id, tenantId, JSON.stringify(columns), taxonomy],
    );
    if (!rowCount) throw new UploadError(409, `upload "${id}" is already ${(await this.get(tenantId, id)).state}`);
    void this.publish(tenantId, id, columns, taxonomy).catch(async (error: Error) => {
      this.log.error({ upload: id, err: error }, 'upload processing failed');
      await this.db.query("UPDATE uploads SET state = 'failed', error = $2, updated_at = now() WHERE id = $1", [
        id,
        error.message,
      ]);
    });
    return this.get(tenantId, id);
  }

  async rejections(
    tenantId: string,
    id: string,
    afterRow: number,
    limit: number,
  ): Promise<{ row_number: number; reason: string }[]> {
    await this.get(tenantId, id);
    const { rows } = await this.db.query<{ row_number: number; reason: string }>(
      'SELECT row_number, reason FROM upload_rejections WHERE upload_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3',
      [id, afterRow, limit],
    );
    return rows;
  }

  private async publish(tenantId: string, id: string, columns: string[], taxonomy: string | null): Promise<void> {
    const upload = await this.get(tenantId, id);
    let messages: Message[] = [];
    let refused: { row: number; error: string }[] = [];
    let total = 0;
    const flush = async () => {
      // 500 wide rows make a produce request far past the broker's 1 MB per partition batch
      for (const chunk of chunkMessages(messages)) await this.producer.sendPrepared(this.topic, chunk);
      if (refused.length > 0) {
        await this.db.query(
          `INSERT INTO upload_rejections (upload_id, row_number, reason)
           SELECT $1, * FROM unnest($2::int[], $3::text[]) ON CONFLICT DO NOTHING`,
          [id, refused.map((r) => r.row), refused.map((r) => r.error)],
        );
      }
      await this.db.query(
        'UPDATE uploads SET published_rows = published_rows + $2, rejected_rows = rejected_rows + $3, updated_at = now() WHERE id = $1',
        [id, messages.length, refused.length],
      );
      messages = [];
      refused = [];
    };
    const now = Date.now();
    for await (const row of readRows(this.fileOf(id), upload.format, upload.delimiter ?? ',', upload.encoding)) {
      total += 1;
      if ('error' in row) refused.push(row);
      else {
        const fields = Object.fromEntries(columns.map((c) => [c, row.values[c] ?? '']));
        const value = {
          id: `${id}:${row.row}`,
          tenant_id: tenantId,
          event_time: now,
          source: 'upload',
          upload_id: id,
          row_number: row.row,
          fields,
          taxonomy,
        };
        const message = await this.producer.prepare(this.topic, { value });
        // the row itself is under MAX_ROW_BYTES, but its column names come along in every record
        if (messageBytes(message) > MAX_RECORD_BYTES)
          refused.push({
            row: row.row,
            error: `the row makes a ${messageBytes(message)}-byte record, past ${MAX_RECORD_BYTES}`,
          });
        else messages.push(message);
      }
      if (messages.length + refused.length >= BATCH) await flush();
    }
    await flush();
    await this.db.query("UPDATE uploads SET state = 'processed', total_rows = $2, updated_at = now() WHERE id = $1", [
      id,
      total,
    ]);
    this.log.info({ upload: id, total }, 'upload processed');
  }
}
