import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMAGE_RESULTS, licenceOfResult, RESULTS_PAGE_SIZE, searchResultsPage } from '../fixture-site/images.ts';
import { foundImageId, searchUrl } from './crawl-job.ts';
import { expandKeyword, pluralOf } from './keywords.ts';
import { parseSearchResults } from './search-results.ts';

describe('keyword expansion', () => {
  it('forms English plurals, of the last word of a phrase', () => {
    const cases: [string, string | null][] = [
      ['zebra', 'zebras'],
      ['fox', 'foxes'],
      ['bus', 'buses'],
      ['glass', 'glasses'],
      ['church', 'churches'],
      ['city', 'cities'],
      ['day', 'days'],
      ['wolf', 'wolves'],
      ['knife', 'knives'],
      ['roof', 'roofs'],
      ['mouse', 'mice'],
      ['child', 'children'],
      ['sheep', null],
      ['cats', null],
      ['mice', null],
      ['red fox', 'red foxes'],
      ['golden retriever puppy', 'golden retriever puppies'],
    ];
    for (const [word, plural] of cases) assert.equal(pluralOf(word), plural, word);
  });

  it('expands a keyword to itself, its plural, its synonyms and the extras, lower case, each once', () => {
    assert.deepEqual(expandKeyword('Cat'), ['cat', 'cats', 'kitten', 'kitty']);
    assert.deepEqual(expandKeyword('  zebra ', ['Zebra Foal', 'zebras', ' plains  zebra ']), [
      'zebra',
      'zebras',
      'zebra foal',
      'plains zebra',
    ]);
    assert.deepEqual(expandKeyword('sheep'), ['sheep']);
    assert.deepEqual(expandKeyword('airplane'), ['airplane', 'airplanes', 'plane', 'aircraft']);
  });

  it('treats words that name object properties as plain words', () => {
    assert.deepEqual(expandKeyword('constructor'), ['constructor', 'constructors']);
    assert.deepEqual(expandKeyword('valueOf'), ['valueof', 'valueofs']);
    assert.equal(pluralOf('toString'), 'toStrings');
    assert.equal(pluralOf('__proto__'), '__proto__s');
  });
});

describe('search results pages', () => {
  it('takes the linked full-size images (not the thumbnails), absolute, in order, and the next page', () => {
    const page = parseSearchResults(searchResultsPage('red fox', 1), 'http://engine.test/search/images?q=red%20fox');
    assert.deepEqual(
      page.images,
      Array.from({ length: RESULTS_PAGE_SIZE }, (_, n) => `http://engine.test/images/red%20fox/${n}`),
    );
    assert.equal(page.next, 'http://engine.test/search/images?q=red%20fox&page=2');
    const last = parseSearchResults(
      searchResultsPage('red fox', Math.ceil(IMAGE_RESULTS.length / RESULTS_PAGE_SIZE)),
      'http://engine.test/x',
    );
    assert.equal(last.next, null);
  });

  it("gives each image its licence hint: the result's own, else the page's, else null", () => {
    const pages = Math.ceil(IMAGE_RESULTS.length / RESULTS_PAGE_SIZE);
    const licences = Array.from(
      { length: pages },
      (_, p) => parseSearchResults(searchResultsPage('okapi', p + 1), 'http://engine.test/s').licences,
    ).flatMap((m) => [...m.values()]);
    assert.deepEqual(
      licences,
      IMAGE_RESULTS.map((_, n) => licenceOfResult(n)),
    );
    assert.deepEqual(
      new Set(licences),
      new Set([
        'https://creativecommons.org/licenses/by/4.0/',
        'https://creativecommons.org/licenses/by-sa/4.0/',
        'CC0-1.0',
        null,
      ]),
    );
    const html = `<html><head><link rel="license" href="/terms"></head><body>
      <figure><a href="/a.png"><img src="/ta.png"></a><a rel="nofollow license" href="https://example.test/l"></a></figure>
      <figure><a href="/b.png"><img src="/tb.png"></a></figure></body></html>`;
    assert.deepEqual(
      [...parseSearchResults(html, 'http://site.test/').licences],
      [
        ['http://site.test/a.png', 'https://example.test/l'],
        ['http://site.test/b.png', 'http://site.test/terms'],
      ],
    );
  });

  it('takes lone images by data-src or src, once each, and skips data: and javascript: URLs', () => {
    const html = `<div><img data-src="/a.png" src="/lazy.gif"><img src="b.jpg"><img src="/a.png"><img src="data:image/png;base64,AAAA">
      <a href="javascript:void(0)"><img src="/c.png"></a><a href="https://cdn.test/d.webp"><img src="/thumb-d.webp"></a></div>`;
    assert.deepEqual(parseSearchResults(html, 'http://site.test/dir/page').images, [
      'http://site.test/a.png',
      'http://site.test/dir/b.jpg',
      'https://cdn.test/d.webp',
    ]);
  });

  it('fills {q} with the encoded term; an image keeps one id per dataset', () => {
    assert.equal(
      searchUrl('http://e.test/s?q={q}&n=50', 'red fox & co'),
      'http://e.test/s?q=red%20fox%20%26%20co&n=50',
    );
    assert.equal(foundImageId('d1', 'http://x/1'), foundImageId('d1', 'http://x/1'));
    assert.notEqual(foundImageId('d1', 'http://x/1'), foundImageId('d2', 'http://x/1'));
  });
});
