/**
 * The fixture site's image search engine: `/search/images?q=<term>&page=<n>` lists results (a
 * thumbnail linking to the full image, `rel=next` to the next page), and `/images/<term>/<n>`
 * serves generated images, deterministic for a term: valid ones in each format, a tiny one, a
 * truncated one, a resized copy (near-duplicate), a byte-identical copy under another URL, ones
 * whose content type lies, an HTML page posing as a JPEG, and a missing one. `IMAGE_RESULTS` says
 * what each is, so tests can check how each is judged. Some results name their licence (a
 * `rel="license"` link, a bare Creative Commons link) and the second page names one for the rest
 * (`<meta name="license">`): `licenceOfResult` says which each has.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import sharp from 'sharp';

export const RESULTS_PAGE_SIZE = 6;

type Encoding = 'png' | 'jpeg' | 'gif' | 'webp';
interface Generated {
  pattern: number;
  width: number;
  height: number;
  encoding: Encoding;
}
export interface ImageResult {
  /** What the validate processor should decide for it (formats allowed: png, jpeg, webp; minimum 32x32). */
  expect: { verdict: 'accepted' | 'rejected' | 'duplicate'; reason: string | null; format?: Encoding };
  /** The content type served, which may lie. */
  contentType: string;
  body: { image: Generated; truncated?: boolean } | { sameBytesAs: number } | { html: string } | { missing: true };
  /** For duplicates: the result it duplicates. */
  duplicates?: number;
  /** A licence link in the result itself: `rel="license"`, or a bare Creative Commons link. */
  licence?: { href: string; rel: boolean };
}

const accepted = (format: Encoding) => ({ verdict: 'accepted', reason: null, format }) as const;
const rejected = (reason: string) => ({ verdict: 'rejected', reason }) as const;
const duplicate = (reason: 'near' | 'exact') => ({ verdict: 'duplicate', reason }) as const;
const image = (pattern: number, width: number, height: number, encoding: Encoding) => ({
  image: { pattern, width, height, encoding },
});

/** The results of every query, in order: result n is served at /images/<term>/<n>. */
export const IMAGE_RESULTS: readonly ImageResult[] = [
  {
    expect: accepted('png'),
    contentType: 'image/png',
    body: image(0, 96, 64, 'png'),
    licence: { href: 'https://creativecommons.org/licenses/by/4.0/', rel: true },
  },
  { expect: accepted('jpeg'), contentType: 'image/jpeg', body: image(1, 80, 80, 'jpeg') },
  { expect: rejected('format_not_allowed'), contentType: 'image/gif', body: image(2, 64, 64, 'gif') },
  {
    expect: accepted('webp'),
    contentType: 'image/webp',
    body: image(3, 72, 72, 'webp'),
    licence: { href: 'https://creativecommons.org/licenses/by-sa/4.0/', rel: false },
  },
  { expect: rejected('too_small'), contentType: 'image/png', body: image(4, 16, 16, 'png') },
  { expect: rejected('corrupt'), contentType: 'image/png', body: { ...image(5, 96, 96, 'png'), truncated: true } },
  // the same picture as result 0, larger: either of the two is kept, the other is a near-duplicate
  { expect: duplicate('near'), contentType: 'image/png', body: image(0, 120, 80, 'png'), duplicates: 0 },
  { expect: duplicate('exact'), contentType: 'image/jpeg', body: { sameBytesAs: 1 }, duplicates: 1 },
  { expect: accepted('jpeg'), contentType: 'image/png', body: image(6, 64, 48, 'jpeg') },
  {
    expect: rejected('unknown_format'),
    contentType: 'image/jpeg',
    body: { html: '<!doctype html><html><body>not an image</body></html>' },
  },
  { expect: rejected('download_failed'), contentType: 'text/plain', body: { missing: true } },
  { expect: accepted('webp'), contentType: 'text/plain', body: image(7, 48, 64, 'webp') },
];

/** The licence each results page names for its results without one of their own (by page, from 1). */
const PAGE_LICENCES: readonly (string | null)[] = [null, 'CC0-1.0'];

/** The licence hint the crawler should find for result `n`: its own, else its page's, else null. */
export const licenceOfResult = (n: number): string | null =>
  IMAGE_RESULTS[n]?.licence?.href ?? PAGE_LICENCES[Math.floor(n / RESULTS_PAGE_SIZE)] ?? null;

/** A small deterministic PRNG (mulberry32) seeded from text. */
function random(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GRID = 8;

/**
 * RGB pixels of a smooth picture: an 8x8 grid of random colours, bilinearly interpolated. Being
 * smooth, its shape survives resizing, as a photograph's does; different seeds look unrelated.
 */
export function patternPixels(seed: string, width: number, height: number): Buffer {
  const next = random(seed);
  const grid = Array.from({ length: GRID * GRID * 3 }, () => Math.floor(next() * 256));
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const gy = (y / Math.max(1, height - 1)) * (GRID - 1);
    const y0 = Math.min(GRID - 2, Math.floor(gy));
    const fy = gy - y0;
    for (let x = 0; x < width; x++) {
      const gx = (x / Math.max(1, width - 1)) * (GRID - 1);
      const x0 = Math.min(GRID - 2, Math.floor(gx));
      const fx = gx - x0;
      for (let c = 0; c < 3; c++) {
        const at = (gxi: number, gyi: number) => grid[(gyi * GRID + gxi) * 3 + c]!;
        const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
        const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
        pixels[(y * width + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return pixels;
}

export async function generateImage(term: string, image: Generated): Promise<Buffer> {
  const raw = patternPixels(`${term}#${image.pattern}`, image.width, image.height);
  return sharp(raw, { raw: { width: image.width, height: image.height, channels: 3 } })
    .toFormat(image.encoding, image.encoding === 'jpeg' ? { quality: 90 } : {})
    .toBuffer();
}

/** Encoding costs ~20 ms an image, more than validating it: images are kept once made (they never change), up to a bound. */
const made = new Map<string, Promise<Buffer>>();
const MADE_MAX = 10_000;

function cachedImage(term: string, image: Generated): Promise<Buffer> {
  const key = `${term}#${image.pattern}#${image.width}x${image.height}.${image.encoding}`;
  let bytes = made.get(key);
  if (!bytes) {
    if (made.size >= MADE_MAX) made.clear();
    bytes = generateImage(term, image);
    made.set(key, bytes);
  }
  return bytes;
}

/** The bytes of result `n` for `term`, or null when it is missing (404). */
export async function resultBytes(term: string, n: number): Promise<Buffer | null> {
  const result = IMAGE_RESULTS[n];
  if (!result || 'missing' in result.body) return null;
  if ('sameBytesAs' in result.body) return resultBytes(term, result.body.sameBytesAs);
  if ('html' in result.body) return Buffer.from(result.body.html);
  const bytes = await cachedImage(term, result.body.image);
  return result.body.truncated ? bytes.subarray(0, Math.floor(bytes.length / 2)) : bytes;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function searchResultsPage(term: string, page: number): string {
  const first = (page - 1) * RESULTS_PAGE_SIZE;
  const items = IMAGE_RESULTS.slice(first, first + RESULTS_PAGE_SIZE).map(({ licence }, i) => {
    const href = `/images/${encodeURIComponent(term)}/${first + i}`;
    const credit = licence
      ? `<a ${licence.rel ? 'rel="license" ' : ''}href="${escapeHtml(licence.href)}">licence</a>`
      : '';
    return `<li class="result"><a href="${escapeHtml(href)}"><img src="${escapeHtml(href)}?thumb=1" alt="${escapeHtml(term)} ${first + i}"></a>${credit}</li>`;
  });
  const licence = PAGE_LICENCES[page - 1];
  const next =
    first + RESULTS_PAGE_SIZE < IMAGE_RESULTS.length
      ? `<a rel="next" href="/search/images?q=${encodeURIComponent(term)}&amp;page=${page + 1}">next</a>`
      : '';
  return `<!doctype html><html><head><meta charset="utf-8">${licence ? `<meta name="license" content="${escapeHtml(licence)}">` : ''}<title>${escapeHtml(term)} - images</title></head><body><ol class="results">${items.join('')}</ol>${next}</body></html>`;
}

/** Serves `/search/images` and `/images/...`; false when the path is neither. */
export async function serveImageSearch(url: URL, res: ServerResponse): Promise<boolean> {
  if (url.pathname === '/search/images') {
    const term = url.searchParams.get('q') ?? '';
    const page = Number(url.searchParams.get('page') ?? '1');
    const valid =
      term !== '' && Number.isInteger(page) && page >= 1 && (page - 1) * RESULTS_PAGE_SIZE < IMAGE_RESULTS.length;
    res
      .writeHead(valid ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
      .end(valid ? searchResultsPage(term, page) : 'no such results page');
    return true;
  }
  const match = /^\/images\/([^/]+)\/(\d+)$/.exec(url.pathname);
  if (!match) return false;
  const n = Number(match[2]);
  const bytes = await resultBytes(decodeURIComponent(match[1]!), n);
  if (!bytes) res.writeHead(404, { 'content-type': 'text/plain' }).end('no such image');
  else res.writeHead(200, { 'content-type': IMAGE_RESULTS[n]!.contentType }).end(bytes);
  return true;
}
