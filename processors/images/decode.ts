/**
 * Decoding an image's bytes (sharp, libvips): its dimensions and the grey 9x8 thumbnail dHash needs.
 * Decoding the whole image is what finds a corrupt one: a truncated file often has an intact header.
 */
import sharp from 'sharp';
import { DHASH_HEIGHT, DHASH_WIDTH, dHash } from '../../domain/images/dhash.ts';
import { errorKind } from '../../core/errors.ts';

/** Refuses decompression bombs: more pixels than this is not a dataset image. */
const MAX_PIXELS = 50_000_000;

export class CorruptImageError extends errorKind('CorruptImageError', { code: 'corrupt_image', status: 400 }) {}

export interface DecodedImage {
  width: number;
  height: number;
  dhash: bigint;
}

export async function decodeImage(bytes: Buffer): Promise<DecodedImage> {
  try {
    // failOn 'error': libvips' warnings (a truncated scan, a bad CRC) are corruption too, but some valid JPEGs carry harmless ones
    const image = sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_PIXELS });
    const { width, height } = await image.metadata();
    const grey = await image
      .clone()
      .flatten({ background: '#ffffff' })
      .greyscale()
      .resize(DHASH_WIDTH, DHASH_HEIGHT, { fit: 'fill' })
      .raw()
      .toBuffer();
    if (!width || !height) throw new Error('no dimensions');
    return { width, height, dhash: dHash(grey) };
  } catch (error) {
    throw new CorruptImageError((error as Error).message);
  }
}
