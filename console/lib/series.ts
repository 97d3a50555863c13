/**
 * Reshaping API answers into chart series (pure, unit-tested): analytics rows pivoted by bucket,
 * and indicator points placed on the bars they belong to.
 */
export type Row = Record<string, string | number | null>;

export interface Series {
  label: string;
  metric: string;
  values: (number | null)[];
}

/** Epoch seconds of an ISO date or time. */
export const seconds = (iso: string): number => Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso) / 1000;

/**
 * Rows of a bucketed analytics answer (ordered by bucket, then dimension) as one x per bucket and
 * one series per metric, or per metric and value of `dimension` when split by one.
 */
export function pivot(
  rows: readonly Row[],
  metrics: readonly string[],
  dimension?: string,
): { x: number[]; series: Series[] } {
  const buckets = [...new Set(rows.map((r) => String(r.bucket)))];
  const column = new Map(buckets.map((b, i) => [b, i]));
  const series = new Map<string, Series>();
  for (const row of rows) {
    for (const metric of metrics) {
      const label = dimension ? `${metric} · ${row[dimension] ?? '(none)'}` : metric;
      let s = series.get(label);
      if (!s) series.set(label, (s = { label, metric, values: buckets.map(() => null) }));
      const value = row[metric];
      s.values[column.get(String(row.bucket))!] =
        typeof value === 'number' ? value : value === null ? null : Number(value);
    }
  }
  return { x: buckets.map(seconds), series: [...series.values()] };
}

/**
 * The value of `field` on each bar: the last point dated on or after the bar's start and before the
 * next bar's (a day bar gets its day's point, a week bar its week's last).
 */
export function onBars<P extends { date: string }>(
  barDates: readonly string[],
  points: readonly P[],
  field: keyof P,
): (number | null)[] {
  const values: (number | null)[] = barDates.map(() => null);
  let bar = 0;
  for (const point of points) {
    while (bar + 1 < barDates.length && barDates[bar + 1]! <= point.date) bar++;
    if (barDates[bar] === undefined || point.date < barDates[bar]!) continue;
    const value = point[field];
    values[bar] = typeof value === 'number' ? value : null;
  }
  return values;
}
