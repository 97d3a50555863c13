/**
 * Image datasets: create one (keywords in, a crawl starts), follow it (counts, server-sent progress
 * until done), pause, resume or cancel its crawl, export its manifest (JSON lines of the accepted
 * images), download it as a tar or zip split into train, validation and test, and fetch an image
 * or its thumbnail. Served under `/v1/image-datasets`; the first name, `/v1/datasets`, still
 * answers the first four routes, marked deprecated. No answer shows a path on the server.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  DATASET_STATES,
  ImageDatasetError,
  type ImageDatasets,
} from '../../connectors/sources/image-search/image-datasets.ts';
import { ARCHIVE_CONTENT_TYPES, ARCHIVE_FORMATS, archiveStream } from '../../domain/images/dataset-archive.ts';
import { DEFAULT_SPLIT, parseSplit } from '../../domain/images/dataset-split.ts';
import { IMAGE_FORMATS } from '../../domain/images/image-format.ts';
import { THUMBNAIL_SIZES, thumbnailEtag, type ThumbnailSize } from '../../domain/images/thumbnails.ts';
import type { AuthEnv } from '../auth/middleware.ts';
import type { ApiDeps, Guards } from '../deps.ts';
import { progressStream } from '../polling-sse.ts';
import { guardedRoutes, itemRoutes } from '../route-spec.ts';
import { json, jsonBody, ListPageQuery, text } from '../schemas.ts';

const route = guardedRoutes('crawl');

/** Where image datasets are served, the current path first; the others are deprecated aliases. */
export const IMAGE_DATASET_PATHS = ['/v1/image-datasets', '/v1/datasets'] as const;

const Term = z.string().trim().min(1).max(100);
const BodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    keywords: z.array(Term).min(1).max(50),
    per_keyword: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(50)
      .openapi({ description: 'image URLs to collect per keyword, over all its search terms' }),
    min_width: z.number().int().min(0).max(100_000).default(0),
    min_height: z.number().int().min(0).max(100_000).default(0),
    formats: z
      .array(z.enum(IMAGE_FORMATS))
      .min(1)
      .default([...IMAGE_FORMATS])
      .openapi({ description: 'formats accepted, judged from the bytes' }),
    extras: z
      .record(z.string(), z.array(Term).max(20))
      .optional()
      .openapi({ description: 'extra search terms per keyword' }),
  })
  .openapi('ImageDatasetInput');

const Counts = z.object({
  found: z.number().int(),
  validated: z.number().int(),
  downloaded: z.number().int(),
  accepted: z.number().int(),
  rejected: z.object({ total: z.number().int(), by_reason: z.record(z.string(), z.number().int()) }),
  duplicates: z.object({ total: z.number().int(), exact: z.number().int(), near: z.number().int() }),
});
const StatusSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.enum(DATASET_STATES).openapi({
      description:
        'crawling -> validating -> done; failed; paused (until resumed); cancelled (what was found is still judged)',
    }),
    error: z.string().nullable(),
    keywords: z.array(z.object({ keyword: z.string(), terms: z.array(z.string()) })),
    per_keyword: z.number().int(),
    min_width: z.number().int(),
    min_height: z.number().int(),
    formats: z.array(z.string()),
    search_pages: z.object({ fetched: z.number().int(), failed: z.number().int() }),
    counts: Counts,
    created_at: z.string(),
  })
  .openapi('ImageDataset');
const IdParam = z.object({ id: z.string().min(1).max(100) });
/** A dataset's routes: a malformed request is a 400, an id the tenant does not have a 404. */
const byId = itemRoutes('crawl', IdParam, [400, 404]);

/** The four routes under one base path; `deprecated` marks an alias in the OpenAPI document. */
const routesAt = (base: string, deprecated: boolean) => ({
  create: route.post(base, {
    summary:
      'Create an image dataset: its keywords are expanded and crawled, the images found validated and deduplicated',
    ...(deprecated ? { deprecated } : {}),
    request: { body: jsonBody(BodySchema) },
    responses: { 201: json(StatusSchema, 'the dataset, crawling') },
    errors: [400],
  }),
  status: byId.get(`${base}/{id}`, {
    summary: 'A dataset: its state and counts (found, downloaded, accepted, rejected by reason, duplicates)',
    ...(deprecated ? { deprecated } : {}),
    responses: { 200: json(StatusSchema, 'the dataset') },
  }),
  events: byId.get(`${base}/{id}/events`, {
    summary: 'Live progress: a `progress` event (the whole dataset status) every second, then `done`',
    ...(deprecated ? { deprecated } : {}),
    responses: { 200: text('text/event-stream', 'an event stream') },
  }),
  export: byId.get(`${base}/{id}/export`, {
    summary:
      'The manifest: one JSON line per accepted image (file, sha256, bytes, width, height, format, keyword, source_url, page_url, licence)',
    ...(deprecated ? { deprecated } : {}),
    responses: { 200: text('application/x-ndjson', 'JSON lines (application/x-ndjson)') },
  }),
});

/** The manifest as a JSON-lines body. */
async function manifestBody(datasets: ImageDatasets, tenantId: string, id: string): Promise<ReadableStream> {
  const lines = await datasets.manifest(tenantId, id);
  const body = Readable.from(
    (async function* () {
      for await (const line of lines) yield Buffer.from(`${JSON.stringify(line)}\n`);
    })(),
  );
  return Readable.toWeb(body) as ReadableStream;
}

const ImageParams = z.object({ id: z.string().min(1).max(100), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const imageRoutes = itemRoutes('crawl', ImageParams, [400, 404]);
const image = imageRoutes.get(`${IMAGE_DATASET_PATHS[0]}/{id}/images/{sha256}`, {
  summary: "An accepted image's bytes, by its sha256 (the manifest lists them)",
  responses: { 200: { description: 'the image (image/png, image/jpeg, image/webp or image/gif)' } },
});
const thumbnail = imageRoutes.get(`${IMAGE_DATASET_PATHS[0]}/{id}/images/{sha256}/thumbnail`, {
  summary: "An accepted image's thumbnail (WebP, within a square of `size` pixels, never enlarged), for galleries",
  request: {
    query: z.object({
      size: z
        .enum(THUMBNAIL_SIZES.map(String) as [string, ...string[]])
        .default('128')
        .openapi({ description: `the square it fits in: ${THUMBNAIL_SIZES.join(', ')}` }),
    }),
  },
  responses: {
    200: { description: 'the thumbnail (image/webp), cacheable for good (ETag, immutable)' },
    304: { description: 'not modified (If-None-Match named its ETag)' },
  },
});

const archive = byId.get(`${IMAGE_DATASET_PATHS[0]}/{id}/archive`, {
  summary:
    'The dataset as one streamed archive: manifest.jsonl first, then each accepted image at <split>/<keyword>/<sha256>.<ext>, split train/validation/test per keyword, the same for the same seed',
  request: {
    query: z.object({
      format: z.enum(ARCHIVE_FORMATS).default('tar'),
      seed: z.coerce.number().int().min(0).max(2_147_483_647).default(0).openapi({ type: 'integer' }),
      split: z
        .string()
        .max(100)
        .optional()
        .openapi({ description: 'train,validation,test ratios summing to 1; default 0.8,0.1,0.1' }),
    }),
  },
  responses: { 200: { description: 'the archive (application/x-tar or application/zip)' } },
  errors: [409],
});

const control = (action: 'pause' | 'resume' | 'cancel', summary: string) =>
  byId.post(`${IMAGE_DATASET_PATHS[0]}/{id}/${action}`, {
    summary,
    responses: { 200: json(StatusSchema, 'the dataset') },
    errors: [409],
  });
const controls = {
  pause: control(
    'pause',
    'Pause the crawl: no search page is fetched until it is resumed (an API restart keeps it paused)',
  ),
  resume: control('resume', 'Resume a paused crawl where it stopped'),
  cancel: control('cancel', 'Cancel the crawl for good (the images found so far are still judged)'),
};

const listRoute = route.get(IMAGE_DATASET_PATHS[0], {
  summary: "The tenant's image datasets, newest first, each with its state and counts; next_cursor goes on",
  request: { query: ListPageQuery },
  responses: {
    200: json(z.object({ datasets: z.array(StatusSchema), next_cursor: z.string().nullable() }), 'a page of datasets'),
  },
  errors: [400],
});

const deleteRoute = byId.delete(`${IMAGE_DATASET_PATHS[0]}/{id}`, {
  summary:
    'Delete a dataset: its folder of images, its rows in Postgres and its fetch log in ClickHouse. One crawling (cancel it first), or whose found images are still being judged, is a 409',
  responses: { 204: { description: 'deleted' } },
  errors: [409],
});

export function registerImageDatasets(
  app: OpenAPIHono<AuthEnv>,
  { imageDatasets: datasets, settings }: Pick<ApiDeps, 'imageDatasets' | 'settings'>,
  guards: Guards,
): void {
  app.openapi({ ...image, middleware: guards.read }, async (c) => {
    const { id, sha256 } = c.req.valid('param');
    const found = await datasets.image(c.get('principal').tenantId, id, sha256);
    const body = Readable.toWeb(createReadStream(found.path)) as ReadableStream;
    // content-addressed: the bytes under a sha256 never change
    return c.body(body, 200, {
      'content-type': `image/${found.format}`,
      'cache-control': 'private, max-age=86400, immutable',
    });
  });
  app.openapi({ ...thumbnail, middleware: guards.read }, async (c) => {
    const { id, sha256 } = c.req.valid('param');
    const size = Number(c.req.valid('query').size) as ThumbnailSize;
    const file = await datasets.thumbnail(c.get('principal').tenantId, id, sha256, size);
    const etag = thumbnailEtag(sha256, size);
    // content-addressed: the thumbnail of a sha256 at a size never changes
    const headers = { etag, 'cache-control': 'private, max-age=31536000, immutable' };
    if (
      c.req
        .header('if-none-match')
        ?.split(/\s*,\s*/)
        .includes(etag)
    )
      return c.body(null, 304, headers);
    return c.body(Readable.toWeb(createReadStream(file)) as ReadableStream, 200, {
      ...headers,
      'content-type': 'image/webp',
    });
  });
  app.openapi({ ...archive, middleware: guards.read }, async (c) => {
    const { id } = c.req.valid('param');
    const { format, seed, split } = c.req.valid('query');
    const ratios = split === undefined ? DEFAULT_SPLIT : parseSplit(split);
    if (typeof ratios === 'string') throw new ImageDatasetError(400, `split: ${ratios}`, 'split');
    const { lines, entries } = await datasets.archive(c.get('principal').tenantId, id, seed, ratios);
    const manifest = { name: 'manifest.jsonl', text: lines.map((l) => `${JSON.stringify(l)}\n`).join('') };
    const body = Readable.toWeb(archiveStream(format, manifest, entries)) as ReadableStream;
    return c.body(body, 200, {
      'content-type': ARCHIVE_CONTENT_TYPES[format],
      'content-disposition': `attachment; filename="${id}.${format}"`,
    });
  });
  for (const action of ['pause', 'resume', 'cancel'] as const)
    app.openapi({ ...controls[action], middleware: guards.ingest }, async (c) =>
      c.json(await datasets.control(c.get('principal').tenantId, c.req.valid('param').id, action), 200),
    );
  app.openapi({ ...listRoute, middleware: guards.read }, async (c) =>
    c.json(await datasets.list(c.get('principal').tenantId, c.req.valid('query')), 200),
  );
  app.openapi({ ...deleteRoute, middleware: guards.ingest }, async (c) => {
    await datasets.remove(c.get('principal').tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });
  IMAGE_DATASET_PATHS.forEach((base, i) => {
    const routes = routesAt(base, i > 0);
    app.openapi({ ...routes.create, middleware: guards.ingest }, async (c) =>
      c.json(await datasets.create(c.get('principal').tenantId, c.req.valid('json')), 201),
    );
    app.openapi({ ...routes.status, middleware: guards.read }, async (c) =>
      c.json(await datasets.status(c.get('principal').tenantId, c.req.valid('param').id), 200),
    );
    app.openapi({ ...routes.events, middleware: guards.read }, async (c) => {
      const { id } = c.req.valid('param');
      const tenantId = c.get('principal').tenantId;
      return progressStream(
        c,
        () => datasets.status(tenantId, id),
        (status) => {
          const ended = status.state === 'done' || status.state === 'failed' || status.state === 'cancelled';
          return { event: ended ? status.state : 'progress', id: String(status.counts.validated), done: ended };
        },
        settings.progressIntervalMs,
      );
    });
    app.openapi({ ...routes.export, middleware: guards.read }, async (c) => {
      const { id } = c.req.valid('param');
      const response = c.body(await manifestBody(datasets, c.get('principal').tenantId, id), 200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="${id}-manifest.jsonl"`,
      });
      // zod-openapi types a *json content type's body as JSON data; this one is a stream of lines
      return response as never;
    });
  });
}
