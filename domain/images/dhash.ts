/**
 * Difference hash (dHash): the image shrunk to 9x8 grey pixels; bit i is set when a pixel is
 * brighter than its right neighbour. Resizing, re-encoding and mild compression keep most bits, so
 * near-duplicates are hashes a small Hamming distance apart.
 */
export const DHASH_WIDTH = 9;
export const DHASH_HEIGHT = 8;

/** The 64-bit dHash of 9x8 grey levels in row order. */
export function dHash(grey: ArrayLike<number>): bigint {
  if (grey.length !== DHASH_WIDTH * DHASH_HEIGHT)
    throw new RangeError(`dHash needs ${DHASH_WIDTH * DHASH_HEIGHT} grey levels, got ${grey.length}`);
  let hash = 0n;
  for (let y = 0; y < DHASH_HEIGHT; y++) {
    for (let x = 0; x < DHASH_WIDTH - 1; x++) {
      const at = y * DHASH_WIDTH + x;
      hash = (hash << 1n) | (grey[at]! > grey[at + 1]! ? 1n : 0n);
    }
  }
  return hash;
}

/** Bits that differ between two 64-bit hashes. */
export function hammingDistance(a: bigint, b: bigint): number {
  let x = BigInt.asUintN(64, a ^ b);
  let count = 0;
  while (x > 0n) {
    x &= x - 1n;
    count += 1;
  }
  return count;
}

/** As Postgres stores it (bigint is signed), and back. */
export const toSigned64 = (hash: bigint): string => BigInt.asIntN(64, hash).toString();
export const hexOf = (hash: bigint): string => BigInt.asUintN(64, hash).toString(16).padStart(16, '0');
