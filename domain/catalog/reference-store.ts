/**
 * The reference "vector store": labelled reference items embedded with the classifier's hashing,
 * held in memory, searched by cosine similarity (exact, brute force: a merchant's references are
 * thousands, and one scan of sparse unit vectors is a few microseconds each).
 */
import { cosine, featurise, type SparseVector } from '../../models/text-classifier/features.ts';

export interface Reference {
  text: string;
  genre: string;
}

export interface Neighbour extends Reference {
  similarity: number;
}

export class ReferenceStore {
  private readonly items: (Reference & { vector: SparseVector })[];

  constructor(
    references: readonly Reference[],
    private readonly dimensions: number,
  ) {
    this.items = references.map((r) => ({ ...r, vector: featurise(r.text, dimensions) }));
  }

  get size(): number {
    return this.items.length;
  }

  nearest(text: string, k = 5): Neighbour[] {
    const query = featurise(text, this.dimensions);
    // keep the k best while scanning, not a sort of every item
    const best: Neighbour[] = [];
    for (const { text: t, genre, vector } of this.items) {
      const similarity = cosine(query, vector);
      if (best.length === k && similarity <= best[k - 1]!.similarity) continue;
      let at = best.findIndex((n) => similarity > n.similarity);
      if (at === -1) at = best.length;
      best.splice(at, 0, { text: t, genre, similarity });
      if (best.length > k) best.pop();
    }
    return best;
  }

  /**
   * The genre the k nearest references vote for, each vote weighted by its similarity; undefined
   * when none is at least `minSimilarity` alike. Confidence: the winner's share of the votes.
   */
  vote(
    text: string,
    k = 5,
    minSimilarity = 0.3,
  ): { genre: string; confidence: number; neighbours: Neighbour[] } | undefined {
    const neighbours = this.nearest(text, k).filter((n) => n.similarity >= minSimilarity);
    if (neighbours.length === 0) return undefined;
    const votes = new Map<string, number>();
    for (const n of neighbours) votes.set(n.genre, (votes.get(n.genre) ?? 0) + n.similarity);
    const [genre, weight] = [...votes].sort((a, b) => b[1] - a[1])[0]!;
    const total = [...votes.values()].reduce((s, v) => s + v, 0);
    return { genre, confidence: weight / total, neighbours };
  }
}
