/**
 * What a search-results page gives: the full-size image URLs (an image inside a link stands for
 * the linked file, as result pages show thumbnails linking to the image), in page order, each
 * once, absolute; and the next results page, if any.
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

export function parseSearchResults(html: string, pageUrl: string): { images: string[]; next: string | null } {
  const $ = cheerio.load(html);
  const images = new Set<string>();
  $('img').each((_, img) => {
    const link = $(img).closest('a[href]');
    const href = link.length > 0 ? link.attr('href') : ($(img).attr('data-src') ?? $(img).attr('src'));
    const url = httpUrl(href, pageUrl);
    if (url) images.add(url);
  });
  const next = httpUrl(
    $('a[rel~="next"]').first().attr('href') ?? $('link[rel~="next"]').first().attr('href'),
    pageUrl,
  );
  return { images: [...images], next };
}
