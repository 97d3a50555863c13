/**
 * Hashed text features: word unigrams and bigrams and character 3-5-grams of the normalised text,
 * hashed (FNV-1a, 32 bit) into `dimensions` buckets, log-scaled counts, L2-normalised. Sparse:
 * only the buckets that occur are returned, sorted by index. The same function feeds training,
 * the TypeScript model and the ONNX model, and the reference store's cosine search.
 */
import { normalise } from './normalise.ts';

export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function featurise(text: string, dimensions: number): SparseVector {
  const counts = new Map<number, number>();
  const add = (token: string) => {
    const bucket = fnv1a(token) % dimensions;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  };
  const words = normalise(text).split(' ').filter(Boolean);
  words.forEach((w, i) => {
    add(`w:${w}`);
    if (i > 0) add(`b:${words[i - 1]} ${w}`);
  });
  for (const w of words) {
    const padded = ` ${w} `;
    for (let n = 3; n <= 5; n++) for (let i = 0; i + n <= padded.length; i++) add(`c:${padded.slice(i, i + n)}`);
  }
  const entries = [...counts].sort((a, b) => a[0] - b[0]);
  const values = entries.map(([, c]) => 1 + Math.log(c));
  const norm = Math.sqrt(values.reduce((s, v) => s + v * v, 0)) || 1;
  return { indices: Int32Array.from(entries.map(([i]) => i)), values: Float32Array.from(values.map((v) => v / norm)) };
}

export function cosine(a: SparseVector, b: SparseVector): number {
  let dot = 0;
  for (let i = 0, j = 0; i < a.indices.length && j < b.indices.length;) {
    if (a.indices[i] === b.indices[j]) dot += a.values[i++]! * b.values[j++]!;
    else if (a.indices[i]! < b.indices[j]!) i++;
    else j++;
  }
  return dot; // both are unit vectors
}
