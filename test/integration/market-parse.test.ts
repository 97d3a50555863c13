import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { historyPage, HISTORY_PAGE_SIZE, quotePage } from '../../connectors/sources/fixture-site/server.ts';
import { loadStocks } from '../../connectors/sources/fixture-site/stocks.ts';
import { PageLayoutError, parsePage } from '../../domain/market/parse-page.ts';
import type { PageRecord } from '../../schemas/records/market.ts';

const ibm = loadStocks().filter((p) => p.symbol === 'IBM');
const page = (kind: 'quote' | 'history', html: string, status = 200): PageRecord => ({
  id: 'p1',
  tenant_id: 'acme',
  event_time: 1,
  source: 'test',
  symbol: 'IBM',
  kind,
  url: `http://fixture/${kind}/IBM`,
  status,
  content_type: 'text/html',
  body_gzip: gzipSync(html),
});

describe('market page parser', () => {
  it('reads every row of every history page: the prices of stocks.csv, row for row', () => {
    const pages = Math.ceil(ibm.length / HISTORY_PAGE_SIZE);
    const quotes = Array.from({ length: pages }, (_, i) =>
      parsePage(page('history', historyPage('IBM', ibm, i + 1))),
    ).flat();
    assert.deepEqual(
      quotes.map((q) => [new Date(q.ts).toISOString().slice(0, 10), q.close]),
      ibm.map((p) => [p.date, p.price]),
    );
    assert.ok(quotes.every((q) => q.id === `acme:IBM:${q.ts}` && q.source_url === 'http://fixture/history/IBM'));
  });

  it('reads the quote page: the last price and its date', () => {
    const [quote] = parsePage(page('quote', quotePage('IBM', ibm)));
    assert.equal(quote?.close, ibm.at(-1)!.price);
    assert.equal(new Date(quote!.ts).toISOString().slice(0, 10), ibm.at(-1)!.date);
  });

  it('a changed layout names the missing selector instead of yielding a price', () => {
    const renamed = quotePage('IBM', ibm).replace('class="price"', 'class="last-price"');
    assert.throws(
      () => parsePage(page('quote', renamed)),
      (e: unknown) =>
        e instanceof PageLayoutError && e.message === 'missing selector "#quote .price[data-field="close"]"',
    );
    const noTable = historyPage('IBM', ibm, 1).replace('id="history"', 'id="prices"');
    assert.throws(() => parsePage(page('history', noTable)), /missing selector "#history tbody tr"/);
    const noClose = historyPage('IBM', ibm, 1).replace(/class="close"/g, 'class="last"');
    assert.throws(() => parsePage(page('history', noClose)), /missing selector "#history tbody tr td.close"/);
  });

  it('a zero or non-numeric price is refused, never stored', () => {
    const zero = quotePage('IBM', ibm).replace(/data-field="close">[^<]+</, 'data-field="close">0.00<');
    assert.throws(() => parsePage(page('quote', zero)), /holds "0.00", not a price/);
    const na = quotePage('IBM', ibm).replace(/data-field="close">[^<]+</, 'data-field="close">N/A<');
    assert.throws(() => parsePage(page('quote', na)), /holds "N\/A", not a price/);
    assert.throws(() => parsePage(page('quote', quotePage('IBM', ibm), 503)), /page answered 503/);
  });
});
