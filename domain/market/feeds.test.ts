import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeedShapeError, parseFeed } from './feeds.ts';

// the first two trading days of 2000 of the S&P 500 (vega-datasets' sp500-2000.csv), as each provider writes them
const STOOQ =
  'Date,Open,High,Low,Close,Volume\r\n2000-01-03,1469.25,1478,1438.359985,1455.219971,931800000\r\n2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1009000000\r\n';
const YAHOO =
  'Date,Open,High,Low,Close,Adj Close,Volume\n2000-01-03,1469.250000,1478.000000,1438.359985,1455.219971,1455.219971,931800000\n2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000\n';
const ALPHA = JSON.stringify({
  'Meta Data': { '1. Information': 'Daily Prices (open, high, low, close) and Volumes', '2. Symbol': 'SPX' },
  'Time Series (Daily)': {
    '2000-01-04': {
      '1. open': '1455.2200',
      '2. high': '1455.2200',
      '3. low': '1397.4301',
      '4. close': '1399.4200',
      '5. volume': '1009000000',
    },
    '2000-01-03': {
      '1. open': '1469.2500',
      '2. high': '1478.0000',
      '3. low': '1438.3600',
      '4. close': '1455.2200',
      '5. volume': '931800000',
    },
  },
});

const refusal = (format: Parameters<typeof parseFeed>[0], text: string) => {
  try {
    parseFeed(format, text);
  } catch (error) {
    assert.ok(error instanceof FeedShapeError, String(error));
    return error.message;
  }
  assert.fail('parsed');
};

describe('parseFeed', () => {
  it('reads each format into bars, oldest first', () => {
    const first = {
      ts: Date.UTC(2000, 0, 3),
      open: 1469.25,
      high: 1478,
      low: 1438.359985,
      close: 1455.219971,
      volume: 931800000,
    };
    assert.deepEqual(parseFeed('stooq_csv', STOOQ)[0], first);
    assert.deepEqual(parseFeed('yahoo_csv', YAHOO)[0], first);
    const alpha = parseFeed('alpha_vantage_json', ALPHA);
    assert.deepEqual(
      alpha.map((b) => [new Date(b.ts).toISOString().slice(0, 10), b.close]),
      [
        ['2000-01-03', 1455.22],
        ['2000-01-04', 1399.42],
      ],
    );
    assert.deepEqual(
      parseFeed('stooq_csv', 'Date,Open,High,Low,Close\n2000-01-03,1469.25,1478,1438.36,1455.22\n')[0]?.volume,
      null,
      'an index without volume on Stooq',
    );
  });

  it('refuses a changed shape naming what is missing, never a zero price', () => {
    assert.equal(
      refusal('stooq_csv', 'No data'),
      'not a Stooq CSV: the first line is "No data", expected the header Date,Open,High,Low,Close,Volume',
    );
    assert.equal(
      refusal('yahoo_csv', YAHOO.replace('Adj Close', 'Adjusted')),
      'the Yahoo Finance CSV has no column Adj Close (its header: Date,Open,High,Low,Close,Adjusted,Volume)',
    );
    assert.equal(
      refusal('stooq_csv', STOOQ.replace('1455.219971,931800000', '0,931800000')),
      'row 1 (2000-01-03) Close is "0", not a price',
    );
    assert.equal(
      refusal('stooq_csv', STOOQ.replace('2000-01-04', '2000-02-30')),
      'row 2 Date: "2000-02-30" is not a date (YYYY-MM-DD)',
    );
    assert.match(
      refusal('yahoo_csv', '<html><body>Sign in</body></html>'),
      /^an HTML page \("<html><body>Sign in<\/body><\/html>"\) instead of the Yahoo Finance CSV$/,
    );
    assert.equal(
      refusal('alpha_vantage_json', '{"Note": "call frequency"}'),
      'no "Time Series (Daily)"; instead "Note": "call frequency"',
    );
    assert.equal(
      refusal('alpha_vantage_json', ALPHA.replace('"4. close":"1399.4200",', '')),
      '"Time Series (Daily)"."2000-01-04" has no "4. close" (its keys: 1. open, 2. high, 3. low, 5. volume)',
    );
    assert.equal(
      refusal('alpha_vantage_json', ALPHA.replace('"5. volume":"931800000"', '"5. volume":"many"')),
      '"Time Series (Daily)"."2000-01-03"."5. volume" is "many", not a volume',
    );
    assert.match(refusal('alpha_vantage_json', 'Date,Open\n'), /^not JSON \(/);
  });
});
