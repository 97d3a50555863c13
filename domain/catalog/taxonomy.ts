/**
 * A merchant's taxonomy: the genres a row may get and, per attribute group, the values allowed.
 * Attribute values are found in a row's normalised text: exactly (the value's words appear
 * together), or fuzzily (a word within a small edit distance of a one-word value, for typos and
 * spelling variants: "aluminum"/"aluminium").
 */
import { distance } from 'fastest-levenshtein';
import { z } from 'zod';
import { normalise } from '../../models/text-classifier/normalise.ts';
import type { AttributeMatch } from '../../schemas/records/catalog.ts';

const name = z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters');
const distinct = (what: string) => (values: string[]) =>
  new Set(values.map(normalise)).size === values.length || `${what} must be distinct (after normalisation)`;

export const taxonomySchema = z.object({
  genres: z
    .array(name)
    .min(1, 'at least one genre')
    .max(10_000)
    .refine((v) => distinct('genres')(v) === true, { message: 'genres must be distinct (after normalisation)' }),
  attributes: z
    .record(name, z.array(name).min(1, 'at least one value').max(10_000))
    .default({})
    .superRefine((groups, ctx) => {
      for (const [group, values] of Object.entries(groups)) {
        const verdict = distinct(`values of ${group}`)(values);
        if (verdict !== true) ctx.addIssue({ code: 'custom', path: [group], message: verdict });
      }
    }),
});

export type Taxonomy = z.infer<typeof taxonomySchema>;

/** Shortest one-word value matched fuzzily: "tv"/"to" are one edit apart and mean nothing alike. */
const FUZZY_MIN_LENGTH = 5;
const FUZZY_MIN_SCORE = 0.8;

/** Per group, compiled once per taxonomy: each value's normalised words. */
export class AttributeMatcher {
  private readonly groups: [group: string, values: { value: string; words: string }[]][];

  constructor(taxonomy: Taxonomy) {
    this.groups = Object.entries(taxonomy.attributes).map(([group, values]) => [
      group,
      values.map((value) => ({ value, words: normalise(value) })),
    ]);
  }

  /** The best value per group found in the text (groups with none are absent). */
  match(text: string): Record<string, AttributeMatch> {
    const normalised = normalise(text);
    const padded = ` ${normalised} `;
    const words = normalised.split(' ').filter(Boolean);
    const found: Record<string, AttributeMatch> = {};
    for (const [group, values] of this.groups) {
      let best: AttributeMatch | undefined;
      for (const { value, words: phrase } of values) {
        if (phrase && padded.includes(` ${phrase} `)) {
          // the longest exact phrase wins: "dark blue" over "blue"
          if (!best || best.rule !== 'exact' || phrase.length > normalise(best.value).length)
            best = { value, rule: 'exact', score: 1 };
          continue;
        }
        if (best?.rule === 'exact' || phrase.includes(' ') || phrase.length < FUZZY_MIN_LENGTH) continue;
        for (const word of words) {
          if (Math.abs(word.length - phrase.length) > 2) continue;
          const score = 1 - distance(word, phrase) / Math.max(word.length, phrase.length);
          if (score >= FUZZY_MIN_SCORE && (!best || score > best.score)) best = { value, rule: 'fuzzy', score };
        }
      }
      if (best) found[group] = best;
    }
    return found;
  }
}
