/**
 * The validate processor's memory, in Postgres: one verdict per (dataset, image URL), written
 * once. Deciding takes a per-dataset advisory lock, so duplicate checks and the insert are atomic
 * across partitions and processor instances: two copies of one picture can never both be
 * accepted. A record seen again (after a crash, before its batch committed) finds its verdict and
 * keeps it, instead of being judged a duplicate of itself.
 *
 * Files follow verdicts: an accepted image is written (as <sha256>.<ext>, atomically) after its
 * verdict commits, and `ensureFile` re-creates it for a redelivered record if the crash came in
 * between. So no file exists without a verdict, and a verdict's file is restored on redelivery.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../core/config.ts';
import { inTransaction, type Pool, type PoolClient } from '../../core/postgres.ts';
import { toSigned64 } from './dhash.ts';
import { extensionOf, type ImageFormat } from './image-format.ts';

/** The root of the dataset folders (the API reports them, the processor writes them). */
export const datasetsDirOf = (config: Config): string =>
  config.CRAWL_DATASETS_DIR ?? path.join(config.MILLRACE_HOME, 'datasets');

export type RejectReason = 'download_failed' | 'unknown_format' | 'format_not_allowed' | 'corrupt' | 'too_small';

export interface DatasetSettings {
  id: string;
  tenant_id: string;
  min_width: number;
  min_height: number;
  formats: string[];
}

export interface Candidate {
  dataset_id: string;
  tenant_id: string;
  url: string;
  record_id: string;
  keyword: string;
}

/** What the bytes say, before duplicates are looked for. */
export type Judgement =
  | {
      verdict: 'rejected';
      reason: RejectReason;
      detail: string;
      downloaded: boolean;
      content_type: string | null;
      format: ImageFormat | null;
      bytes: number | null;
      width?: number;
      height?: number;
    }
  | {
      verdict: 'accepted';
      content_type: string;
      format: ImageFormat;
      bytes: number;
      width: number;
      height: number;
      sha256: string;
      dhash: bigint;
    };

export interface StoredVerdict {
  verdict: 'accepted' | 'rejected' | 'duplicate';
  reason: string | null;
  format: ImageFormat | null;
  width: number | null;
  height: number | null;
  bytes: number | null;
  sha256: string | null;
  dhash: string | null;
  content_type: string | null;
  duplicate_of: string | null;
  /** Relative to the datasets root. */
  path: string | null;
}

const COLUMNS =
  'verdict, reason, format, width, height, bytes, sha256, dhash::text AS dhash, content_type, duplicate_of, path';

/** The columns a verdict writes besides its key. */
interface ItemRow extends StoredVerdict {
  detail: string | null;
  downloaded: boolean;
  distance: number | null;
}

const rejectedRow = (j: Extract<Judgement, { verdict: 'rejected' }>): ItemRow => ({
  verdict: 'rejected',
  reason: j.reason,
  detail: j.detail,
  downloaded: j.downloaded,
  content_type: j.content_type,
  format: j.format,
  width: j.width ?? null,
  height: j.height ?? null,
  bytes: j.bytes,
  sha256: null,
  dhash: null,
  distance: null,
  duplicate_of: null,
  path: null,
});

export class DatasetImageStore {
  private readonly settingsCache = new Map<string, Promise<DatasetSettings | null>>();

  constructor(
    private readonly db: Pool,
    /** Where files go: <root>/<tenant>/<dataset>/<sha256>.<ext>. */
    readonly root: string,
    private readonly nearDistance: number,
  ) {}

  /** A dataset's settings (they never change), or null when there is no such dataset. */
  settings(datasetId: string): Promise<DatasetSettings | null> {
    let cached = this.settingsCache.get(datasetId);
    if (!cached) {
      cached = this.db
        .query<DatasetSettings>(
          'SELECT id, tenant_id, min_width, min_height, formats FROM image_datasets WHERE id = $1',
          [datasetId],
        )
        .then(({ rows }) => rows[0] ?? null);
      cached.then(
        (found) => found ?? this.settingsCache.delete(datasetId),
        () => this.settingsCache.delete(datasetId),
      );
      this.settingsCache.set(datasetId, cached);
    }
    return cached;
  }

  async existing(datasetId: string, url: string): Promise<StoredVerdict | null> {
    const { rows } = await this.db.query<StoredVerdict>(
      `SELECT ${COLUMNS} FROM image_dataset_items WHERE dataset_id = $1 AND url = $2`,
      [datasetId, url],
    );
    return rows[0] ?? null;
  }

  /** Stores the verdict of a candidate, turning an acceptable image into a duplicate when the dataset has it already. */
  async decide(candidate: Candidate, judgement: Judgement): Promise<StoredVerdict> {
    return inTransaction(this.db, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `image_dataset:${candidate.dataset_id}`,
      ]);
      const { rows: before } = await client.query<StoredVerdict>(
        `SELECT ${COLUMNS} FROM image_dataset_items WHERE dataset_id = $1 AND url = $2`,
        [candidate.dataset_id, candidate.url],
      );
      const row = before[0]
        ? undefined
        : judgement.verdict === 'rejected'
          ? rejectedRow(judgement)
          : await this.acceptedOrDuplicate(client, candidate, judgement);
      let stored = before[0];
      if (row) {
        const names = Object.keys(row) as (keyof ItemRow)[];
        const { rows } = await client.query<StoredVerdict>(
          `INSERT INTO image_dataset_items (dataset_id, url, record_id, keyword, ${names.join(', ')})
           VALUES ($1, $2, $3, $4, ${names.map((_, i) => `$${i + 5}`).join(', ')}) RETURNING ${COLUMNS}`,
          [candidate.dataset_id, candidate.url, candidate.record_id, candidate.keyword, ...names.map((n) => row[n])],
        );
        stored = rows[0];
      }
      return stored!;
    });
  }

  /** Under the dataset's lock: an exact copy (same sha256) or a near one (dHash within the distance) of an accepted image is a duplicate. */
  private async acceptedOrDuplicate(
    client: PoolClient,
    candidate: Candidate,
    judgement: Extract<Judgement, { verdict: 'accepted' }>,
  ): Promise<ItemRow> {
    const dhash = toSigned64(judgement.dhash);
    const row: ItemRow = {
      verdict: 'accepted',
      reason: null,
      detail: null,
      downloaded: true,
      content_type: judgement.content_type,
      format: judgement.format,
      width: judgement.width,
      height: judgement.height,
      bytes: judgement.bytes,
      sha256: judgement.sha256,
      dhash,
      distance: null,
      duplicate_of: null,
      path: path.join(
        candidate.tenant_id,
        candidate.dataset_id,
        `${judgement.sha256}.${extensionOf(judgement.format)}`,
      ),
    };
    const { rows: same } = await client.query<{ url: string }>(
      "SELECT url FROM image_dataset_items WHERE dataset_id = $1 AND verdict = 'accepted' AND sha256 = $2",
      [candidate.dataset_id, judgement.sha256],
    );
    if (same[0])
      return { ...row, verdict: 'duplicate', reason: 'exact', duplicate_of: same[0].url, distance: 0, path: null };
    // a linear scan of the dataset's accepted hashes: fine for thousands; a BK-tree would serve millions
    const { rows: near } = await client.query<{ url: string; distance: number }>(
      `SELECT url, bit_count((dhash # $2::bigint)::bit(64))::int AS distance FROM image_dataset_items
       WHERE dataset_id = $1 AND verdict = 'accepted' AND bit_count((dhash # $2::bigint)::bit(64)) <= $3
       ORDER BY distance, url LIMIT 1`,
      [candidate.dataset_id, dhash, this.nearDistance],
    );
    if (near[0])
      return {
        ...row,
        verdict: 'duplicate',
        reason: 'near',
        duplicate_of: near[0].url,
        distance: near[0].distance,
        path: null,
      };
    return row;
  }

  absolute(relative: string): string {
    return path.join(this.root, relative);
  }

  async hasFile(relative: string, bytes: number): Promise<boolean> {
    try {
      return (await stat(this.absolute(relative))).size === bytes;
    } catch {
      return false;
    }
  }

  /** Writes a file whole or not at all: a reader never sees half an image. */
  async writeFile(relative: string, body: Buffer): Promise<void> {
    const file = this.absolute(relative);
    await mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.${randomBytes(6).toString('hex')}.partial`;
    await writeFile(partial, body);
    await rename(partial, file);
  }
}
