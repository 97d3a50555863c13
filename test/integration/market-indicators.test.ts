import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadStocks } from '../../connectors/sources/fixture-site/stocks.ts';
import { step, type IndicatorState } from '../../processors/market/indicators.ts';
import type { Indicators } from '../../schemas/records/market.ts';

/** Textbook definitions over the whole series, written independently of the incremental code. */
function reference(closes: number[]): Indicators[] {
  const out: Indicators[] = [];
  const ema = (n: number) => {
    const series: (number | null)[] = [];
    let value: number | null = null;
    closes.forEach((c, i) => {
      if (i + 1 < n) return series.push(null);
      value =
        value === null
          ? closes.slice(0, n).reduce((a, b) => a + b, 0) / n
          : (2 / (n + 1)) * c + (1 - 2 / (n + 1)) * value;
      series.push(value);
    });
    return series;
  };
  const ema20 = ema(20);
  const ema50 = ema(50);
  const changes = closes.map((c, i) => (i === 0 ? 0 : c - closes[i - 1]!));
  let gain: number | null = null;
  let loss: number | null = null;
  closes.forEach((c, i) => {
    if (i >= 14) {
      if (gain === null || loss === null) {
        const first = changes.slice(1, 15);
        gain = first.reduce((a, d) => a + Math.max(d, 0), 0) / 14;
        loss = first.reduce((a, d) => a + Math.max(-d, 0), 0) / 14;
      } else {
        gain = (gain * 13 + Math.max(changes[i]!, 0)) / 14;
        loss = (loss * 13 + Math.max(-changes[i]!, 0)) / 14;
      }
    }
    const sma = (n: number) => (i + 1 >= n ? closes.slice(i + 1 - n, i + 1).reduce((a, b) => a + b, 0) / n : null);
    const rets = i >= 20 ? closes.slice(i - 19, i + 1).map((x, j) => x / closes[i - 20 + j]! - 1) : null;
    const m = rets ? rets.reduce((a, b) => a + b, 0) / 20 : 0;
    out.push({
      return_1: i === 0 ? null : c / closes[i - 1]! - 1,
      sma20: sma(20),
      sma50: sma(50),
      ema20: ema20[i] ?? null,
      ema50: ema50[i] ?? null,
      volatility20: rets ? Math.sqrt(rets.reduce((a, r) => a + (r - m) ** 2, 0) / 19) : null,
      rsi14: gain === null || loss === null ? null : loss === 0 ? 100 : 100 - 100 / (1 + gain / loss),
    });
  });
  return out;
}

const close = (a: number | null, b: number | null) =>
  a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

describe('market indicators', () => {
  for (const symbol of ['AAPL', 'GOOG', 'IBM']) {
    it(`${symbol}: incremental indicators equal the textbook definitions on every stocks.csv row`, () => {
      const series = loadStocks().filter((p) => p.symbol === symbol);
      const expected = reference(series.map((p) => p.price));
      let state: IndicatorState | undefined;
      series.forEach((p, i) => {
        const result = step(state, Date.parse(p.date), p.price)!;
        state = result.state;
        for (const key of Object.keys(expected[i]!) as (keyof Indicators)[]) {
          assert.ok(
            close(result.indicators[key], expected[i]![key]),
            `${symbol} row ${i} ${key}: ${result.indicators[key]} vs ${expected[i]![key]}`,
          );
        }
        assert.ok(state.closes.length <= 50, 'bounded state');
      });
    });
  }

  it('a quote not newer than the last one changes nothing', () => {
    const first = step(undefined, 2000, 10)!;
    assert.equal(step(first.state, 2000, 11), undefined);
    assert.equal(step(first.state, 1000, 11), undefined);
  });
});
