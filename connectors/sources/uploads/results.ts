/**
 * What became of an upload once its rows were published: progress (rows published, rejected and
 * classified so far, from Postgres and ClickHouse) and the result file, a CSV of the selected
 * columns plus genre, confidence, who decided and one column per attribute group, streamed from
 * ClickHouse in row order. Cells a spreadsheet would run as a formula are neutralised.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { stringify } from 'csv-stringify';
import { quoteString } from '../../../core/clickhouse-sql.ts';
import type { Pool } from '../../../core/postgres.ts';
import { loadTaxonomy } from '../../../domain/catalog/taxonomy-store.ts';
import { UploadError } from './upload-error.ts';
import type { Uploads } from './uploads.ts';

export interface UploadProgress {
  id: string;
  state: string;
  total_rows: number | null;
  published_rows: number;
  rejected_rows: number;
  classified_rows: number;
  /** classified + rejected over total, 0..100; null until the total is known */
  percent: number | null;
  done: boolean;
}

/** OWASP's CSV injection advice: a leading =, +, -, @, tab or carriage return makes a cell a formula. */
export function neutralise(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

export class UploadResults {
  constructor(
    private readonly uploads: Uploads,
    private readonly db: Pool,
    private readonly clickhouse: ClickHouseClient,
  ) {}

  /**
   * Deletes an upload (Uploads.remove) with its classified rows in catalog_rows: an ALTER ... DELETE
   * mutation, which ClickHouse applies in the background (reads stop seeing the rows once it is done).
   */
  async remove(tenantId: string, id: string): Promise<void> {
    await this.uploads.remove(tenantId, id, async () => {
      await this.clickhouse.command({
        query: `ALTER TABLE catalog_rows DELETE WHERE tenant_id = ${quoteString(tenantId)} AND upload_id = ${quoteString(id)}`,
      });
    });
  }

  async progress(tenantId: string, id: string): Promise<UploadProgress> {
    const upload = await this.uploads.get(tenantId, id);
    const [row] = await (
      await this.clickhouse.query({
        query: `SELECT uniqExact(id) AS n FROM catalog_rows WHERE upload_id = ${quoteString(id)} AND tenant_id = ${quoteString(tenantId)}`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    const classified = Number(row?.n ?? 0);
    const total = upload.total_rows;
    const settled = classified + upload.rejected_rows;
    return {
      id,
      state: upload.state,
      total_rows: total,
      published_rows: upload.published_rows,
      rejected_rows: upload.rejected_rows,
      classified_rows: classified,
      percent: total === null ? null : total === 0 ? 100 : Math.min(100, Math.floor((settled * 100) / total)),
      done: upload.state === 'failed' || (upload.state === 'processed' && total !== null && settled >= total),
    };
  }

  /** The result CSV; 409 until every published row is classified. */
  async resultCsv(tenantId: string, id: string): Promise<Readable> {
    const progress = await this.progress(tenantId, id);
    if (!progress.done || progress.state !== 'processed') {
      throw new UploadError(
        409,
        `upload ${id} is not classified yet: ${progress.classified_rows} of ${progress.published_rows} published rows (${progress.state})`,
      );
    }
    const { rows } = await this.db.query<{ columns: string[] | null }>(
      'SELECT columns FROM uploads WHERE id = $1 AND tenant_id = $2',
      [id, tenantId],
    );
    const columns = rows[0]?.columns ?? [];
    // one column per attribute group of the taxonomy the rows were classified against (18.16 cannot list JSON keys)
    const [used] = await (
      await this.clickhouse.query({
        query: `SELECT any(taxonomy) AS taxonomy FROM catalog_rows WHERE upload_id = ${quoteString(id)} AND tenant_id = ${quoteString(tenantId)}`,
        format: 'JSONEachRow',
      })
    ).json<{ taxonomy: string }>();
    const attributeGroups = used?.taxonomy
      ? Object.keys((await loadTaxonomy(this.db, tenantId, used.taxonomy)).taxonomy.attributes).sort()
      : [];
    const result = await this.clickhouse.query({
      query: `SELECT row_number, genre, confidence, decided_by, attributes, fields FROM catalog_rows FINAL
               WHERE upload_id = ${quoteString(id)} AND tenant_id = ${quoteString(tenantId)} ORDER BY row_number`,
      format: 'JSONEachRow',
    });
    const csv = stringify({
      header: true,
      columns: [
        'row_number',
        ...columns,
        'genre',
        'confidence',
        'decided_by',
        ...attributeGroups.map((g) => `attribute:${g}`),
      ],
    });
    void (async () => {
      try {
        for await (const chunk of result.stream()) {
          for (const line of chunk) {
            const r = line.json<{
              row_number: string;
              genre: string;
              confidence: number;
              decided_by: string;
              attributes: string;
              fields: string;
            }>();
            const fields = JSON.parse(r.fields) as Record<string, string>;
            const attributes = JSON.parse(r.attributes) as Record<string, { value: string }>;
            const cells = [
              r.row_number,
              ...columns.map((c) => fields[c] ?? ''),
              r.genre,
              r.confidence.toFixed(4),
              r.decided_by,
              ...attributeGroups.map((g) => attributes[g]?.value ?? ''),
            ];
            if (!csv.write(cells.map((c) => neutralise(String(c)))))
              await new Promise((resolve) => csv.once('drain', resolve));
          }
        }
        csv.end();
      } catch (error) {
        csv.destroy(error as Error);
      }
    })();
    return csv;
  }
}
