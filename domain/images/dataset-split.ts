/**
 * The train/validation/test split of an image dataset's archive: deterministic for a seed and
 * stratified by keyword. Within each keyword the images are ordered by sha256(seed, image sha256)
 * and cut at the ratios (largest remainder), so every keyword gets its share, and the same seed
 * over the same images always gives the same split.
 */
import { createHash } from 'node:crypto';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];
export type SplitRatios = readonly [train: number, validation: number, test: number];

export const DEFAULT_SPLIT: SplitRatios = [0.8, 0.1, 0.1];

/** `0.8,0.1,0.1` as ratios; a message saying what is wrong otherwise. */
export function parseSplit(text: string): SplitRatios | string {
  const parts = text.split(',').map((p) => p.trim());
  const ratios = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || ratios.some((r) => !Number.isFinite(r) || r < 0))
    return 'three non-negative numbers, train,validation,test (e.g. 0.8,0.1,0.1)';
  if (Math.abs(ratios[0]! + ratios[1]! + ratios[2]! - 1) > 1e-6) return `the three ratios sum to 1, not ${text}`;
  return ratios as unknown as SplitRatios;
}

/** How many of `n` items each split gets: the floors of n × ratio, the rest to the largest remainders. */
export function splitCounts(n: number, ratios: SplitRatios): [number, number, number] {
  const exact = ratios.map((r) => n * r);
  const counts = exact.map(Math.floor) as [number, number, number];
  const order = [0, 1, 2].sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!) || a - b);
  for (let left = n - counts[0] - counts[1] - counts[2], i = 0; left > 0; left--, i++) counts[order[i % 3]!]! += 1;
  return counts;
}

const rank = (seed: number, sha256: string) => createHash('sha256').update(`${seed}\n${sha256}`).digest('hex');

/** The split of each item, by its sha256 (unique within a dataset). */
export function assignSplits(
  items: readonly { sha256: string; keyword: string }[],
  seed: number,
  ratios: SplitRatios,
): Map<string, Split> {
  const byKeyword = new Map<string, { sha256: string; rank: string }[]>();
  for (const { sha256, keyword } of items)
    byKeyword.set(keyword, [...(byKeyword.get(keyword) ?? []), { sha256, rank: rank(seed, sha256) }]);
  const splits = new Map<string, Split>();
  for (const group of byKeyword.values()) {
    group.sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    const [train, validation] = splitCounts(group.length, ratios);
    group.forEach(({ sha256 }, i) =>
      splits.set(sha256, i < train ? 'train' : i < train + validation ? 'validation' : 'test'),
    );
  }
  return splits;
}
