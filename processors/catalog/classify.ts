/**
 * Classifying a batch of product rows: the genre model scores the whole batch at once; a row the
 * model is unsure of (or whose predicted genre the merchant's taxonomy lacks) asks the reference
 * store's nearest neighbours; attribute values come from the taxonomy's exact and fuzzy matches.
 * Every result says what decided it.
 */
import type { GenreModel } from './genre-model.ts';
import type { ReferenceStore } from '../../domain/catalog/reference-store.ts';
import { AttributeMatcher, type Taxonomy } from '../../domain/catalog/taxonomy.ts';
import type { AttributeMatch } from '../../schemas/records/catalog.ts';

export interface Classification {
  genre: string | null;
  confidence: number;
  decided_by: 'model' | 'reference' | 'none';
  attributes: Record<string, AttributeMatch>;
}

export interface ClassifierContext {
  taxonomy: Taxonomy;
  matcher: AttributeMatcher;
  references?: ReferenceStore;
}

export function classifierContext(taxonomy: Taxonomy, references?: ReferenceStore): ClassifierContext {
  return { taxonomy, matcher: new AttributeMatcher(taxonomy), references };
}

/** Below this model confidence the reference store is asked first. */
export const MODEL_CONFIDENT = 0.6;

/** One text per row (its selected fields joined), each with the taxonomy it is classified against. */
export async function classifyBatch(
  model: GenreModel,
  rows: readonly { text: string; context: ClassifierContext }[],
): Promise<Classification[]> {
  const predictions = await model.predict(rows.map((r) => r.text));
  return rows.map(({ text, context }, i) => {
    const prediction = predictions[i]!;
    const genres = new Set(context.taxonomy.genres);
    const attributes = context.matcher.match(text);
    const modelKnows = genres.has(prediction.label);
    if (modelKnows && prediction.confidence >= MODEL_CONFIDENT) {
      return { genre: prediction.label, confidence: prediction.confidence, decided_by: 'model', attributes };
    }
    const vote = context.references?.vote(text);
    if (vote && genres.has(vote.genre))
      return { genre: vote.genre, confidence: vote.confidence, decided_by: 'reference', attributes };
    if (modelKnows)
      return { genre: prediction.label, confidence: prediction.confidence, decided_by: 'model', attributes };
    return { genre: null, confidence: 0, decided_by: 'none', attributes };
  });
}
