/** The real monthly prices of vega-datasets' stocks.csv (AAPL, AMZN, GOOG, IBM, MSFT, 2000-2010). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

export interface PricePoint {
  symbol: string;
  /** ISO date (YYYY-MM-DD), UTC */
  date: string;
  price: number;
}

/** A file of vega-datasets' data folder. */
export function vegaData(name: string): string {
  // vega-datasets' `exports` hide its data folder from require; find it next to the entry point
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return path.join(path.dirname(entry), '..', 'data', name);
}

export function loadStocks(): PricePoint[] {
  const rows = parse(readFileSync(vegaData('stocks.csv'), 'utf8'), { columns: true, skip_empty_lines: true }) as {
    symbol: string;
    date: string;
    price: string;
  }[];
  return rows.map((r) => ({
    symbol: r.symbol,
    date: new Date(`${r.date} UTC`).toISOString().slice(0, 10),
    price: Number(r.price),
  }));
}
