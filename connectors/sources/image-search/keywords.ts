/**
 * Keyword expansion: each keyword becomes the search terms it is crawled with: itself, its plural,
 * its synonyms from a small built-in list, and the caller's extra terms; lower case, each once.
 */

/** A small, hand-kept thesaurus of common image-dataset subjects (both directions are listed). */
const SYNONYMS: Record<string, readonly string[]> = {
  cat: ['kitten', 'kitty'],
  kitten: ['cat'],
  dog: ['puppy', 'hound'],
  puppy: ['dog'],
  car: ['automobile'],
  automobile: ['car'],
  bike: ['bicycle'],
  bicycle: ['bike'],
  boat: ['ship'],
  ship: ['boat'],
  sofa: ['couch'],
  couch: ['sofa'],
  flower: ['blossom'],
  house: ['home'],
  plane: ['airplane', 'aircraft'],
  airplane: ['plane', 'aircraft'],
  rabbit: ['bunny'],
  horse: ['pony'],
  mountain: ['peak'],
  sea: ['ocean'],
  ocean: ['sea'],
};

const IRREGULAR: Record<string, string> = {
  child: 'children',
  foot: 'feet',
  goose: 'geese',
  man: 'men',
  mouse: 'mice',
  person: 'people',
  tooth: 'teeth',
  woman: 'women',
};
const UNCHANGED = new Set(['sheep', 'fish', 'deer', 'series', 'species', 'aircraft', 'moose', 'bison']);
/** Words in -f/-fe whose plural is -ves (roof, chief, belief keep -s). */
const F_TO_VES = new Set(['leaf', 'wolf', 'knife', 'life', 'wife', 'half', 'shelf', 'calf', 'loaf', 'thief', 'scarf']);

/** The English plural of a word or, for a phrase, of its last word; null when it has none of its own. */
export function pluralOf(term: string): string | null {
  const words = term.split(' ');
  const word = words.at(-1)!;
  let plural: string | null;
  if (Object.hasOwn(IRREGULAR, word)) plural = IRREGULAR[word]!;
  else if (UNCHANGED.has(word) || Object.values(IRREGULAR).includes(word)) plural = null;
  else if (/[^s]s$|us$/.test(word) && !/(ss|us)$/.test(word))
    plural = null; // already plural
  else if (/(s|x|z|ch|sh)$/.test(word)) plural = `${word}es`;
  else if (/[^aeiou]y$/.test(word)) plural = `${word.slice(0, -1)}ies`;
  else if (F_TO_VES.has(word)) plural = word.replace(/fe?$/, 'ves');
  else plural = `${word}s`;
  return plural === null ? null : [...words.slice(0, -1), plural].join(' ');
}

const normalise = (term: string) => term.trim().toLowerCase().replace(/\s+/g, ' ');

/** The search terms of one keyword, the keyword first. */
export function expandKeyword(keyword: string, extras: readonly string[] = []): string[] {
  const base = normalise(keyword);
  const terms = [
    base,
    pluralOf(base),
    ...(Object.hasOwn(SYNONYMS, base) ? SYNONYMS[base]! : []),
    ...extras.map(normalise),
  ];
  return [...new Set(terms.filter((t): t is string => !!t))];
}
