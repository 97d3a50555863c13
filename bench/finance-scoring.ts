/**
 * Finance default-probability scoring rate on one core (onnxruntime intra- and inter-op threads 1),
 * by batch size: `onnx` is the three session.run calls on one [N, 12] float64 tensor (building it
 * included), `scores` adds the TypeScript zone, ensemble and category.
 * Run: node --import tsx bench/finance-scoring.ts
 */
import { performance } from 'node:perf_hooks';
import { FinanceScorer } from '../domain/finance/score.ts';
import { parseStatement, type Statement } from '../domain/finance/statement.ts';

const BATCH_SIZES = [1, 100, 1_000, 10_000];
const MIN_MS = 1_500;

/** mulberry32: the same statements on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function statements(n: number): Statement[] {
  const r = random(42);
  const between = (min: number, max: number) => min + r() * (max - min);
  return Array.from({ length: n }, (_, i) => {
    const ta = between(10, 1e5);
    return parseStatement({
      period: i % 4 === 0 ? 'annual' : 'quarterly',
      total_assets: ta,
      total_liabilities: ta * between(0.1, 1.5),
      current_assets: ta * between(0.05, 0.8),
      current_liabilities: ta * between(0.05, 0.9),
      net_income: ta * between(-0.2, 0.2),
      net_income_prev: ta * between(-0.2, 0.2),
      funds_from_operations: ta * between(-0.1, 0.3),
      retained_earnings: ta * between(-0.5, 0.6),
      ebit: ta * between(-0.2, 0.3),
      market_value_equity: ta * between(0, 3),
      sales: ta * between(0.1, 2),
    });
  });
}

/** Rows per second over at least MIN_MS, after a warm-up. */
async function rate(batch: Statement[], work: (batch: Statement[]) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await work(batch);
  let rows = 0;
  const start = performance.now();
  while (performance.now() - start < MIN_MS) {
    await work(batch);
    rows += batch.length;
  }
  return (rows * 1000) / (performance.now() - start);
}

const scorer = await FinanceScorer.load();
const all = statements(Math.max(...BATCH_SIZES));
const format = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
process.stdout.write(
  `finance scoring, 3 models, float64 (Erf in float32), 1 thread; rows/s\n${'batch'.padStart(6)} ${'onnx'.padStart(12)} ${'scores'.padStart(12)}\n`,
);
for (const size of BATCH_SIZES) {
  const batch = all.slice(0, size);
  const onnx = await rate(batch, (b) => scorer.run(b));
  const scores = await rate(batch, (b) => scorer.score(b));
  process.stdout.write(`${String(size).padStart(6)} ${format(onnx)} ${format(scores)}\n`);
}
await scorer.release();
