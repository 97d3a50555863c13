/**
 * What a search-results page gives: the full-size image URLs (an image inside a link stands for
 * the linked file, as result pages show thumbnails linking to the image), in page order, each
 * once, absolute; the licence hint of each, where the page gives one; and the next results page,
 * if any.
 *
 * A licence hint is a URL or a name, never checked: the result's own `rel="license"` link or
 * Creative Commons link (inside the result's `li`, `figure` or `article`), else the page's
 * `<meta name="license">`, its `rel="license"` link, or a Creative Commons link outside any result.
 */
import * as cheerio from 'cheerio';

const httpUrl = (href: string | undefined, base: string): string | null => {
  if (!href) return null;
  try {
    const url = new URL(href, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
};

const CREATIVE_COMMONS = /^https?:\/\/(www\.)?creativecommons\.org\/(licenses|publicdomain)\//i;
const RESULT = 'li, figure, article';

export interface SearchResults {
  images: string[];
  /** The licence hint of each image URL; null when the page gives none. */
  licences: Map<string, string | null>;
  next: string | null;
}

export function parseSearchResults(html: string, pageUrl: string): SearchResults {
  const $ = cheerio.load(html);
  /** A `rel=license` link, else a Creative Commons link, among `links`. */
  const licenceAmong = (links: { href: string; rel: string }[]): string | null => {
    const rel = links.find((l) => /(^|\s)license(\s|$)/i.test(l.rel));
    return httpUrl((rel ?? links.find((l) => CREATIVE_COMMONS.test(l.href)))?.href, pageUrl);
  };
  const linksOf = (selection: ReturnType<typeof $>) =>
    selection.toArray().map((a) => ({ href: $(a).attr('href') ?? '', rel: $(a).attr('rel') ?? '' }));
  const pageLicence =
    $('meta[name="license" i]').first().attr('content')?.trim() ||
    licenceAmong(linksOf($('a[href], link[href]').filter((_, a) => $(a).closest(RESULT).length === 0)));

  const licences = new Map<string, string | null>();
  $('img').each((_, img) => {
    const link = $(img).closest('a[href]');
    const href = link.length > 0 ? link.attr('href') : ($(img).attr('data-src') ?? $(img).attr('src'));
    const url = httpUrl(href, pageUrl);
    if (!url || licences.has(url)) return;
    const result = $(img).closest(RESULT);
    licences.set(
      url,
      (result.length > 0 ? licenceAmong(linksOf(result.find('a[href]'))) : null) ?? pageLicence ?? null,
    );
  });
  const next = httpUrl(
    $('a[rel~="next"]').first().attr('href') ?? $('link[rel~="next"]').first().attr('href'),
    pageUrl,
  );
  return { images: [...licences.keys()], licences, next };
}
