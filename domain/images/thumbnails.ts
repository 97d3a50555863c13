/**
 * Thumbnails of a dataset's accepted images, for the console's gallery: WebP, fitted inside a
 * square of one of THUMBNAIL_SIZES (never enlarged), made once with sharp and kept on disk beside
 * the images (<dataset folder>/thumbnails/<size>/<sha256>.webp), written whole or not at all.
 * An image never changes under its sha256, so neither does its thumbnail: its ETag is its name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** The sizes served: a few, so that the cache on disk stays a few files per image. */
export const THUMBNAIL_SIZES = [64, 128, 256, 512] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];

export const thumbnailEtag = (sha256: string, size: ThumbnailSize): string => `"${sha256}-${size}w"`;

/** The thumbnail of the image at `image` (whose name is `<sha256>.<ext>`): its file, made if missing. */
export async function thumbnailFile(image: string, sha256: string, size: ThumbnailSize): Promise<string> {
  const file = path.join(path.dirname(image), 'thumbnails', String(size), `${sha256}.webp`);
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (exists) return file;
  const bytes = await sharp(image, { animated: false, limitInputPixels: 50_000_000 })
    .rotate() // EXIF orientation, as a browser shows the original
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
  await mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.${randomBytes(6).toString('hex')}.partial`;
  await writeFile(partial, bytes);
  await rename(partial, file);
  return file;
}
