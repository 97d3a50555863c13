import type { StatementRecord } from '../schemas/records/finance.ts';
/**
 * Financial statements across the range the finance models see (profitable and loss-making, over-
 * and under-levered), ids `<prefix>-<i>`, the same figures for the same i: a seeded generator, as
 * there is no public statement data set on this machine.
 */

export function statements(prefix: string, n: number, tenant = 'acme'): StatementRecord[] {
  const stream = statementStream(prefix, tenant);
  return Array.from({ length: n }, () => stream.next().value);
}

/** The same statements without end. */
export function* statementStream(prefix: string, tenant = 'acme'): Generator<StatementRecord, never> {
  let seed = 11;
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; ; i++) {
    const ta = 50 + r() * 5000;
    yield {
      id: `${prefix}-${i}`,
      tenant_id: tenant,
      event_time: Date.UTC(2025, 0, 1) + i * 1000,
      source: 'test',
      company_id: `co-${i % 41}`,
      period: i % 3 === 0 ? 'quarterly' : 'annual',
      period_end: 20089 + (i % 8) * 91,
      total_assets: ta,
      total_liabilities: ta * (0.2 + r()),
      current_assets: ta * (0.1 + r() * 0.5),
      current_liabilities: ta * (0.05 + r() * 0.4),
      net_income: ta * (r() * 0.2 - 0.08),
      net_income_prev: ta * (r() * 0.2 - 0.08),
      funds_from_operations: ta * (r() * 0.25 - 0.05),
      retained_earnings: ta * (r() * 0.6 - 0.2),
      ebit: ta * (r() * 0.25 - 0.05),
      market_value_equity: ta * r() * 2,
      sales: ta * (0.3 + r() * 1.5),
      price_level_index: 100,
    } as StatementRecord;
  }
}
