/**
 * A taxonomy as the editor's text: genres one a line; attribute groups one a line as
 * `group: value, value`; reference items one a line as `genre | text`. Blank lines are skipped;
 * the API judges the rest (distinct names, known genres) and says which field is wrong.
 */
export interface TaxonomyInput {
  genres: string[];
  attributes: Record<string, string[]>;
  references: { genre: string; text: string }[];
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/** Splits a line at the first `separator`; the line whole and '' when it has none. */
function cut(line: string, separator: string): [string, string] {
  const at = line.indexOf(separator);
  return at < 0 ? [line, ''] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
}

export function fromText(genres: string, attributes: string, references: string): TaxonomyInput {
  return {
    genres: lines(genres),
    attributes: Object.fromEntries(
      lines(attributes).map((line) => {
        const [group, values] = cut(line, ':');
        return [
          group,
          values
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean),
        ];
      }),
    ),
    references: lines(references).map((line) => {
      const [genre, text] = cut(line, '|');
      return { genre, text };
    }),
  };
}

export const genresText = (genres: readonly string[]): string => genres.join('\n');

export const attributesText = (attributes: Record<string, readonly string[]>): string =>
  Object.entries(attributes)
    .map(([group, values]) => `${group}: ${values.join(', ')}`)
    .join('\n');
