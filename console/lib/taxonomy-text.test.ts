import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributesText, fromText, genresText } from './taxonomy-text.ts';

describe('taxonomy text', () => {
  it('reads genres, attribute groups and references a line each, blank lines skipped', () => {
    assert.deepEqual(
      fromText('Drama\n\n Comedy \n', 'mood: dark, light,\ndecade: 80s', 'Drama | Heat\nComedy|Airplane!'),
      {
        genres: ['Drama', 'Comedy'],
        attributes: { mood: ['dark', 'light'], decade: ['80s'] },
        references: [
          { genre: 'Drama', text: 'Heat' },
          { genre: 'Comedy', text: 'Airplane!' },
        ],
      },
    );
  });
  it('writes what it reads', () => {
    const attributes = { mood: ['dark', 'light'], decade: ['80s'] };
    assert.deepEqual(fromText(genresText(['A', 'B']), attributesText(attributes), ''), {
      genres: ['A', 'B'],
      attributes,
      references: [],
    });
  });
});
