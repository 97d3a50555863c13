/**
 * Per-symbol indicators computed incrementally from a bounded state: the last 50 closes plus the
 * running EMA and Wilder averages. `step` is pure: (state, quote) -> (state, indicators), so the
 * features processor can keep the state in a compacted topic, written in the same transaction as
 * its output, and rebuild it on restart. A quote not newer than the state's last one changes
 * nothing (replays and duplicates are harmless).
 */
import type { Indicators } from '../../schemas/records/market.ts';

export const WINDOW = 50;

export interface IndicatorState {
  last_ts: number;
  /** the most recent closes, oldest first, at most WINDOW */
  closes: number[];
  count: number;
  ema20: number | null;
  ema50: number | null;
  avg_gain14: number | null;
  avg_loss14: number | null;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** EMA seeded with the SMA of the first `n` closes, then alpha = 2 / (n + 1). */
function nextEma(prev: number | null, closes: number[], count: number, n: number): number | null {
  if (count < n) return null;
  if (prev === null) return mean(closes.slice(-n));
  const alpha = 2 / (n + 1);
  return alpha * closes.at(-1)! + (1 - alpha) * prev;
}

export function step(
  state: IndicatorState | undefined,
  ts: number,
  close: number,
): { state: IndicatorState; indicators: Indicators } | undefined {
  if (state && ts <= state.last_ts) return undefined;
  const closes = [...(state?.closes ?? []), close].slice(-WINDOW);
  const count = (state?.count ?? 0) + 1;
  const prev = closes.length >= 2 ? closes.at(-2)! : null;

  // Wilder's RSI: the first averages are plain means of 14 changes, then smoothed by 1/14
  let avgGain = state?.avg_gain14 ?? null;
  let avgLoss = state?.avg_loss14 ?? null;
  if (prev !== null && count - 1 >= 14) {
    const change = close - prev;
    if (avgGain === null || avgLoss === null) {
      const changes = closes
        .slice(-15)
        .map((c, i, all) => (i === 0 ? 0 : c - all[i - 1]!))
        .slice(1);
      avgGain = mean(changes.map((d) => Math.max(d, 0)));
      avgLoss = mean(changes.map((d) => Math.max(-d, 0)));
    } else {
      avgGain = (avgGain * 13 + Math.max(change, 0)) / 14;
      avgLoss = (avgLoss * 13 + Math.max(-change, 0)) / 14;
    }
  }
  const rsi14 = avgGain === null || avgLoss === null ? null : avgLoss === 0 ? 100 : 100 - 100 / (1 + avgGain / avgLoss);

  const returns = closes
    .slice(-21)
    .map((c, i, all) => (i === 0 ? 0 : c / all[i - 1]! - 1))
    .slice(1);
  let volatility20: number | null = null;
  if (returns.length === 20) {
    const m = mean(returns);
    volatility20 = Math.sqrt(returns.reduce((a, r) => a + (r - m) ** 2, 0) / 19);
  }

  const ema20 = nextEma(state?.ema20 ?? null, closes, count, 20);
  const ema50 = nextEma(state?.ema50 ?? null, closes, count, 50);
  return {
    state: { last_ts: ts, closes, count, ema20, ema50, avg_gain14: avgGain, avg_loss14: avgLoss },
    indicators: {
      return_1: prev === null ? null : close / prev - 1,
      sma20: closes.length >= 20 ? mean(closes.slice(-20)) : null,
      sma50: closes.length >= 50 ? mean(closes.slice(-50)) : null,
      ema20,
      ema50,
      volatility20,
      rsi14,
    },
  };
}
