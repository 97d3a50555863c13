/**
 * Image datasets: a dataset is created by the API, crawled by it (crawl-job.ts), and validated by
 * the image-validation processor; its progress, counts and manifest are read from Postgres, so any
 * API instance can report them.
 *
 * Why the crawl runs in the API process rather than as a source connector of its own: a crawl is
 * started by a request and is small (a few results pages per search term; the heavy part, the image
 * downloads, is the processor's), like an upload's publishing, so a separate long-running role would
 * only add a queue to poll. Crawls that were running when an API process stopped are resumed by the
 * next one to start (`resumeUnfinished`), and a Postgres advisory lock held for the length of a crawl
 * keeps two instances from crawling one dataset at once.
 *
 * A crawl can be paused, resumed and cancelled: the state is in Postgres, so a paused crawl stays
 * paused across restarts, and the crawl reads it before each page (crawl-job.ts). Images already
 * found are still validated by the processor. Answers never show where files are on the server.
 */
import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '../../../core/clickhouse.ts';
import { quoteString } from '../../../core/clickhouse-sql.ts';
import { cursorTime, keysetPage, pageOf } from '../../../core/keyset-pages.ts';
import type { Logger } from '../../../core/logger.ts';
import { inTransaction, type Pool } from '../../../core/postgres.ts';
import type { AvroProducer } from '../../../core/producer.ts';
import { FetchLog } from '../../../domain/crawl/fetch-log.ts';
import { Fetcher, type FetcherOptions } from '../../../domain/crawl/fetcher.ts';
import { assignSplits, type Split, type SplitRatios } from '../../../domain/images/dataset-split.ts';
import { safeSegment, type ArchiveEntry } from '../../../domain/images/dataset-archive.ts';
import { thumbnailFile, type ThumbnailSize } from '../../../domain/images/thumbnails.ts';
import { crawlDataset, type CrawlTarget } from './crawl-job.ts';
import { expandKeyword } from './keywords.ts';
import { MillraceError } from '../../../core/errors.ts';

const CODES = { 400: 'invalid_request', 404: 'not_found', 409: 'conflict' } as const;

export class ImageDatasetError extends MillraceError {
  override name = 'ImageDatasetError';
  constructor(
    override readonly status: 400 | 404 | 409,
    message: string,
    readonly field?: string,
  ) {
    super(message, {
      code: CODES[status],
      status,
      details: field === undefined ? undefined : { field },
    });
  }
}

export interface ImageDatasetInput {
  name: string;
  keywords: string[];
  per_keyword: number;
  min_width: number;
  min_height: number;
  formats: string[];
  /** Extra search terms per keyword. */
  extras?: Record<string, string[]>;
}

export interface ImageDatasetStatus {
  id: string;
  name: string;
  /**
   * crawling -> validating (every page crawled, images being judged) -> done; or failed (the crawl);
   * paused (until resumed), cancelled (for good: what was found is still judged).
   */
  state: DatasetState;
  error: string | null;
  keywords: { keyword: string; terms: string[] }[];
  per_keyword: number;
  min_width: number;
  min_height: number;
  formats: string[];
  search_pages: { fetched: number; failed: number };
  counts: {
    found: number;
    /** Images judged so far (every verdict). */
    validated: number;
    downloaded: number;
    accepted: number;
    rejected: { total: number; by_reason: Record<string, number> };
    duplicates: { total: number; exact: number; near: number };
  };
  created_at: string;
}

export const DATASET_STATES = ['crawling', 'paused', 'cancelled', 'validating', 'done', 'failed'] as const;
export type DatasetState = (typeof DATASET_STATES)[number];

/** An accepted image, as the export lists it. */
export interface ManifestLine {
  /** Its file name, `<sha256>.<ext>` (served at /images/{sha256}). */
  file: string;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  keyword: string;
  source_url: string;
  /** The results page it was found on. */
  page_url: string;
  /** The licence the page gave for it (a URL or a name), null when none. */
  licence: string | null;
}

/** An image in an archive: its manifest line, where it is in the archive, and its split. */
export interface ArchiveLine extends Omit<ManifestLine, 'file'> {
  path: string;
  split: Split;
}

export type CrawlControl = 'pause' | 'resume' | 'cancel';

/** Which crawl states each control applies to, and the state it leaves. */
const CONTROLS: Record<CrawlControl, { from: readonly CrawlState[]; to: CrawlState }> = {
  pause: { from: ['crawling'], to: 'paused' },
  resume: { from: ['paused'], to: 'crawling' },
  cancel: { from: ['crawling', 'paused'], to: 'cancelled' },
};

export interface ImageDatasetsDeps {
  db: Pool;
  producer: AvroProducer;
  clickhouse: ClickHouseClient;
  log: Logger;
  searchEndpoints: readonly string[];
  /** Root of the dataset folders (<root>/<tenant>/<dataset>/). */
  root: string;
  fetcher?: Partial<Omit<FetcherOptions, 'crawl' | 'log' | 'logger'>>;
  /** Where found images are published (default crawl.images.raw). */
  topic?: string;
}

interface ImageDatasetRow {
  id: string;
  tenant_id: string;
  name: string;
  keywords: { keyword: string; terms: string[] }[];
  per_keyword: number;
  min_width: number;
  min_height: number;
  formats: string[];
  crawl_state: CrawlState;
  error: string | null;
  created_at: Date;
}

type CrawlState = 'crawling' | 'paused' | 'cancelled' | 'crawled' | 'failed';

const MANIFEST_PAGE = 1000;

const isFile = (file: string): Promise<boolean> =>
  stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

export class ImageDatasets {
  private readonly running = new Map<string, Promise<void>>();
  private readonly restarts = new Set<string>();

  constructor(private readonly deps: ImageDatasetsDeps) {}

  async create(tenantId: string, input: ImageDatasetInput): Promise<ImageDatasetStatus> {
    const normalise = (keyword: string) => keyword.trim().toLowerCase();
    const names = [...new Set(input.keywords.map(normalise))];
    const extras = new Map<string, string[]>();
    for (const [key, terms] of Object.entries(input.extras ?? {})) {
      if (!names.includes(normalise(key)))
        throw new ImageDatasetError(400, `extras names "${key}", which is not among the keywords`, `extras.${key}`);
      extras.set(normalise(key), [...(extras.get(normalise(key)) ?? []), ...terms]);
    }
    const keywords = names.map((keyword) => ({ keyword, terms: expandKeyword(keyword, extras.get(keyword)) }));
    const id = randomUUID();
    await this.deps.db.query(
      'INSERT INTO image_datasets (id, tenant_id, name, keywords, per_keyword, min_width, min_height, formats) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [
        id,
        tenantId,
        input.name,
        JSON.stringify(keywords),
        input.per_keyword,
        input.min_width,
        input.min_height,
        [...new Set(input.formats)],
      ],
    );
    this.start(id);
    return this.status(tenantId, id);
  }

  private async row(tenantId: string, id: string): Promise<ImageDatasetRow> {
    const { rows } = await this.deps.db.query<ImageDatasetRow>(
      'SELECT * FROM image_datasets WHERE id = $1 AND tenant_id = $2',
      [id, tenantId],
    );
    if (!rows[0]) throw new ImageDatasetError(404, `no dataset "${id}"`, 'id');
    return rows[0];
  }

  async status(tenantId: string, id: string): Promise<ImageDatasetStatus> {
    const row = await this.row(tenantId, id);
    const [{ rows: crawled }, { rows: verdicts }] = await Promise.all([
      this.deps.db.query<{ found: number; fetched: number; failed: number }>(
        `SELECT (SELECT count(*)::int FROM image_dataset_candidates WHERE dataset_id = $1) AS found,
                (SELECT count(*)::int FROM image_dataset_pages WHERE dataset_id = $1 AND error IS NULL) AS fetched,
                (SELECT count(*)::int FROM image_dataset_pages WHERE dataset_id = $1 AND error IS NOT NULL) AS failed`,
        [id],
      ),
      this.deps.db.query<{ verdict: string; reason: string | null; n: number; downloaded: number }>(
        'SELECT verdict, reason, count(*)::int AS n, (count(*) FILTER (WHERE downloaded))::int AS downloaded FROM image_dataset_items WHERE dataset_id = $1 GROUP BY 1, 2',
        [id],
      ),
    ]);
    const { found, fetched, failed } = crawled[0]!;
    const sum = (filter: (v: (typeof verdicts)[number]) => boolean, of: 'n' | 'downloaded' = 'n') =>
      verdicts.filter(filter).reduce((s, v) => s + v[of], 0);
    const validated = sum(() => true);
    const rejected = verdicts.filter((v) => v.verdict === 'rejected');
    const state: DatasetState =
      row.crawl_state === 'crawled' ? (validated >= found ? 'done' : 'validating') : row.crawl_state;
    return {
      id: row.id,
      name: row.name,
      state,
      error: row.error,
      keywords: row.keywords,
      per_keyword: row.per_keyword,
      min_width: row.min_width,
      min_height: row.min_height,
      formats: row.formats,
      search_pages: { fetched, failed },
      counts: {
        found,
        validated,
        downloaded: sum(() => true, 'downloaded'),
        accepted: sum((v) => v.verdict === 'accepted'),
        rejected: {
          total: sum((v) => v.verdict === 'rejected'),
          by_reason: Object.fromEntries(rejected.map((v) => [v.reason ?? 'unknown', v.n])),
        },
        duplicates: {
          total: sum((v) => v.verdict === 'duplicate'),
          exact: sum((v) => v.reason === 'exact'),
          near: sum((v) => v.reason === 'near'),
        },
      },
      created_at: row.created_at.toISOString(),
    };
  }

  /** A page of the tenant's datasets, newest first. */
  async list(
    tenantId: string,
    query: { limit: number; cursor?: string },
  ): Promise<{ datasets: ImageDatasetStatus[]; next_cursor: string | null }> {
    const page = keysetPage('created_at', 'id', query, 2);
    const { rows } = await this.deps.db.query<{ id: string; page_at: string; page_key: string }>(
      `SELECT id, ${cursorTime('created_at')} AS page_at, id AS page_key FROM image_datasets
        WHERE tenant_id = $1 AND ${page.where} ${page.orderAndLimit}`,
      [tenantId, ...page.params],
    );
    const { items, next_cursor } = pageOf(rows, query.limit);
    return { datasets: await Promise.all(items.map(({ id }) => this.status(tenantId, id))), next_cursor };
  }

  /**
   * Deletes a dataset: its folder of images, its rows in Postgres (pages, candidates, verdicts) and
   * its crawl's fetch log in ClickHouse. 409 while it is crawling (cancel it first) or while images
   * it found are still being judged (the validator would write them again).
   */
  async remove(tenantId: string, id: string): Promise<void> {
    const status = await this.status(tenantId, id);
    if (status.state === 'crawling')
      throw new ImageDatasetError(409, `dataset "${id}" is crawling: cancel it first (POST .../${id}/cancel)`, 'id');
    if (status.counts.validated < status.counts.found)
      throw new ImageDatasetError(
        409,
        `dataset "${id}" has ${status.counts.found - status.counts.validated} of ${status.counts.found} images still being judged: delete it once they are`,
        'id',
      );
    await this.deps.clickhouse.command({ query: `ALTER TABLE fetch_log DELETE WHERE crawl = ${quoteString(id)}` });
    await inTransaction(this.deps.db, async (client) => {
      for (const table of ['image_dataset_items', 'image_dataset_candidates', 'image_dataset_pages'])
        await client.query(`DELETE FROM ${table} WHERE dataset_id = $1`, [id]);
      await client.query('DELETE FROM image_datasets WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    });
    await rm(path.join(this.deps.root, tenantId, id), { recursive: true, force: true });
  }

  /** Where an accepted image of the tenant's dataset is on disk, and its format; 404 for any other. */
  async image(tenantId: string, id: string, sha256: string): Promise<{ path: string; format: string }> {
    await this.row(tenantId, id);
    const { rows } = await this.deps.db.query<{ path: string; format: string }>(
      `SELECT path, format FROM image_dataset_items WHERE dataset_id = $1 AND sha256 = $2 AND verdict = 'accepted' LIMIT 1`,
      [id, sha256],
    );
    if (!rows[0]) throw new ImageDatasetError(404, `dataset "${id}" has no accepted image ${sha256}`, 'sha256');
    const file = path.join(this.deps.root, rows[0].path);
    // its verdict is written before its file (image-store.ts): between the two, or if the file was lost, it is not there yet
    if (!(await isFile(file)))
      throw new ImageDatasetError(404, `image ${sha256} of dataset "${id}" is not stored yet`, 'sha256');
    return { path: file, format: rows[0].format };
  }

  /** The manifest of the accepted images, a page of rows at a time (404 before the first line). */
  async manifest(tenantId: string, id: string): Promise<AsyncIterable<ManifestLine>> {
    await this.row(tenantId, id);
    const { db } = this.deps;
    return (async function* () {
      for (let after = ''; ;) {
        const { rows } = await db.query<ManifestLine & { path: string }>(
          `SELECT i.url AS source_url, i.path, i.sha256, i.bytes, i.width, i.height, i.format, i.keyword,
                  c.page_url, c.licence
           FROM image_dataset_items i LEFT JOIN image_dataset_candidates c ON c.dataset_id = i.dataset_id AND c.url = i.url
           WHERE i.dataset_id = $1 AND i.verdict = 'accepted' AND i.url > $2 ORDER BY i.url LIMIT $3`,
          [id, after, MANIFEST_PAGE],
        );
        for (const { path: relative, ...line } of rows)
          yield {
            file: path.basename(relative),
            sha256: line.sha256,
            bytes: line.bytes,
            width: line.width,
            height: line.height,
            format: line.format,
            keyword: line.keyword,
            source_url: line.source_url,
            page_url: line.page_url ?? '',
            licence: line.licence ?? null,
          };
        if (rows.length < MANIFEST_PAGE) return;
        after = rows.at(-1)!.source_url;
      }
    })();
  }

  /**
   * What a dataset's archive holds: each accepted image whose file is on disk, with its place
   * (`<split>/<keyword>/<file>`) and split, and where to read it. The lines are held in memory to
   * stratify the split (a few hundred bytes an image); the images are read as the archive streams.
   * 409 when the dataset has no accepted image yet.
   */
  async archive(
    tenantId: string,
    id: string,
    seed: number,
    ratios: SplitRatios,
  ): Promise<{ lines: ArchiveLine[]; entries: ArchiveEntry[] }> {
    const found: (ManifestLine & { disk: string })[] = [];
    for await (const line of await this.manifest(tenantId, id)) {
      const disk = path.join(this.deps.root, tenantId, id, line.file);
      // a verdict whose file is not written yet (its processor stopped in between) waits for its redelivery
      if (await isFile(disk)) found.push({ ...line, disk });
      else
        this.deps.log.warn({ dataset: id, sha256: line.sha256 }, 'accepted image not on disk: left out of the archive');
    }
    if (found.length === 0) {
      const { state } = await this.status(tenantId, id);
      throw new ImageDatasetError(409, `dataset "${id}" has no accepted images to archive (it is ${state})`, 'id');
    }
    const splits = assignSplits(found, seed, ratios);
    const placed = found.map(({ disk, file, ...line }) => {
      const split = splits.get(line.sha256)!;
      return { disk, line: { ...line, path: `${split}/${safeSegment(line.keyword)}/${file}`, split } };
    });
    return {
      lines: placed.map((p) => p.line),
      entries: placed.map((p) => ({ name: p.line.path, file: p.disk })),
    };
  }

  /** The thumbnail of an accepted image (made on first asking, then kept): its file. */
  async thumbnail(tenantId: string, id: string, sha256: string, size: ThumbnailSize): Promise<string> {
    return thumbnailFile((await this.image(tenantId, id, sha256)).path, sha256, size);
  }

  /** Pauses, resumes or cancels a dataset's crawl; 409 naming the state when it does not apply. */
  async control(tenantId: string, id: string, action: CrawlControl): Promise<ImageDatasetStatus> {
    const { from, to } = CONTROLS[action];
    const { rowCount } = await this.deps.db.query(
      'UPDATE image_datasets SET crawl_state = $3, updated_at = now() WHERE id = $1 AND tenant_id = $2 AND crawl_state = ANY($4)',
      [id, tenantId, to, from],
    );
    if (rowCount === 0) {
      const { state } = await this.status(tenantId, id); // 404 for a dataset the tenant does not have
      throw new ImageDatasetError(409, `cannot ${action} dataset "${id}": it is ${state}`, 'state');
    }
    if (action === 'resume') this.start(id);
    return this.status(tenantId, id);
  }

  /** Starts the crawl of every dataset still crawling (its API process stopped); returns their ids. */
  async resumeUnfinished(): Promise<string[]> {
    const { rows } = await this.deps.db.query<{ id: string }>(
      "SELECT id FROM image_datasets WHERE crawl_state = 'crawling' ORDER BY created_at",
    );
    for (const { id } of rows) this.start(id);
    return rows.map((r) => r.id);
  }

  /** Resolves when the crawls this instance runs have ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private start(id: string): void {
    if (this.running.has(id)) {
      // resumed while the paused crawl is finishing its page: crawl again once it has stopped
      this.restarts.add(id);
      return;
    }
    const run = this.crawl(id)
      .catch(async (error: Error) => {
        this.deps.log.error({ dataset: id, err: error }, 'dataset crawl failed');
        await this.deps.db.query(
          "UPDATE image_datasets SET crawl_state = 'failed', error = $2, updated_at = now() WHERE id = $1 AND crawl_state = 'crawling'",
          [id, error.message],
        );
      })
      .catch((error: Error) => this.deps.log.error({ dataset: id, err: error }, 'cannot record the failed crawl'))
      .finally(() => {
        this.running.delete(id);
        if (this.restarts.delete(id)) this.start(id);
      });
    this.running.set(id, run);
  }

  private async crawl(id: string): Promise<void> {
    const { db, log } = this.deps;
    const lock = await db.connect();
    const key = `image_dataset_crawl:${id}`;
    try {
      const { rows } = await lock.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [key],
      );
      if (!rows[0]!.locked) {
        log.info({ dataset: id }, 'another process is crawling this dataset');
        return;
      }
      try {
        const { rows: targets } = await db.query<CrawlTarget & { crawl_state: string }>(
          'SELECT id, tenant_id, per_keyword, keywords, crawl_state FROM image_datasets WHERE id = $1',
          [id],
        );
        const target = targets[0];
        if (!target || target.crawl_state !== 'crawling') return;
        // written as it goes (a crawl's pages are few): a process killed mid-crawl keeps the record of what it fetched
        const fetchLog = new FetchLog(this.deps.clickhouse, 1);
        const fetcher = new Fetcher({ ...this.deps.fetcher, crawl: id, log: fetchLog, logger: log });
        let finished: boolean;
        try {
          finished = await crawlDataset(
            {
              db,
              producer: this.deps.producer,
              fetcher,
              log,
              searchEndpoints: this.deps.searchEndpoints,
              topic: this.deps.topic,
              proceed: async () => {
                const { rows: now } = await db.query<{ crawl_state: CrawlState }>(
                  'SELECT crawl_state FROM image_datasets WHERE id = $1',
                  [id],
                );
                return now[0]?.crawl_state === 'crawling';
              },
            },
            target,
          );
        } finally {
          await fetchLog
            .flush()
            .catch((error: Error) => log.warn({ dataset: id, err: error }, 'fetch log not written'));
        }
        if (!finished) {
          log.info({ dataset: id }, 'dataset crawl stopped (paused or cancelled)');
          return;
        }
        // unless it was paused or cancelled after its last page
        await db.query(
          "UPDATE image_datasets SET crawl_state = 'crawled', updated_at = now() WHERE id = $1 AND crawl_state = 'crawling'",
          [id],
        );
        log.info({ dataset: id }, 'dataset crawled');
      } finally {
        await lock.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
      }
    } finally {
      lock.release();
    }
  }
}
