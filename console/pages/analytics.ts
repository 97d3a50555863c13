/**
 * Analytics: any view by any of its time buckets, one or more metrics, optionally split by a
 * dimension, as a line or bar chart with the answer's rows in a table below.
 */
import type uPlot from 'uplot';
import { getJson, withQuery } from '../lib/api.ts';
import { timeChart } from '../lib/charts.ts';
import { el, errorLine, options } from '../lib/dom.ts';
import { pivot, type Row } from '../lib/series.ts';
import type { Page } from './page.ts';

interface View {
  name: string;
  description: string;
  buckets: string[];
  dimensions: string[];
  metrics: { name: string; description: string }[];
  default_metrics: string[];
}

interface Answer {
  bucket: string | null;
  dimensions: string[];
  metrics: string[];
  rows: Row[];
  truncated: boolean;
}

const LIMIT = 5000;

function resultTable(answer: Answer): HTMLTableElement {
  const columns = ['bucket', ...answer.dimensions, ...answer.metrics];
  return el(
    'table',
    { id: 'analytics-table' },
    el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', {}, c)))),
    el(
      'tbody',
      {},
      ...answer.rows.map((row) => el('tr', {}, ...columns.map((c) => el('td', {}, String(row[c] ?? '—'))))),
    ),
  );
}

export const analytics: Page = {
  path: 'analytics',
  title: 'Analytics',
  needs: 'analytics',
  mount(root, signal) {
    const view = el('select', { id: 'chart-view' });
    const metrics = el('span', { id: 'chart-metrics', className: 'choices' });
    const split = el('select', { id: 'chart-split' });
    const bucket = el('select', { id: 'chart-bucket' });
    const kind = el('select', { id: 'chart-kind' }, new Option('line', 'line'), new Option('bar', 'bar'));
    const from = el('input', { id: 'chart-from', type: 'date' });
    const to = el('input', { id: 'chart-to', type: 'date' });
    const form = el(
      'form',
      { id: 'chart-form' },
      el('label', {}, 'View ', view),
      el('label', {}, 'Bucket ', bucket),
      el('label', {}, 'Split by ', split),
      el('label', {}, 'Chart ', kind),
      el('label', {}, 'From ', from),
      el('label', {}, 'To ', to),
      el('div', {}, 'Metrics ', metrics),
      el('button', { type: 'submit' }, 'Draw'),
    );
    const description = el('p', { className: 'hint' });
    const error = errorLine();
    const note = el('p', { id: 'chart-note' });
    const chartBox = el('div', { id: 'analytics-chart', className: 'chart' });
    const tableBox = el('div');
    root.append(el('h2', {}, 'Analytics'), form, description, error.element, note, chartBox, tableBox);

    let views: View[] = [];
    let chart: uPlot | undefined;
    signal.addEventListener('abort', () => chart?.destroy());
    const current = () => views.find((v) => v.name === view.value)!;

    const onView = () => {
      const spec = current();
      description.textContent = spec.description;
      metrics.replaceChildren(
        ...spec.metrics.map((m) =>
          el(
            'label',
            { title: m.description },
            el('input', { type: 'checkbox', value: m.name, checked: spec.default_metrics.includes(m.name) }),
            ` ${m.name}`,
          ),
        ),
      );
      options(split, ['(none)', ...spec.dimensions]);
      options(bucket, spec.buckets, 'month');
    };

    const draw = async () => {
      error.clear();
      const chosen = [...metrics.querySelectorAll<HTMLInputElement>('input:checked')].map((m) => m.value);
      const dimension = split.value === '(none)' ? undefined : split.value;
      try {
        const answer = await getJson<Answer>(
          withQuery(`/v1/analytics/${view.value}`, {
            metrics: chosen.join(',') || undefined,
            dimensions: dimension,
            bucket: bucket.value,
            from: from.value || undefined,
            to: to.value || undefined,
            limit: LIMIT,
          }),
          signal,
        );
        const { x, series } = pivot(answer.rows, answer.metrics, dimension);
        chart?.destroy();
        // each metric against an axis of its own: a count and a probability share no scale
        chart = timeChart(chartBox, {
          x,
          series: series.map((s) => ({ ...s, axis: answer.metrics.indexOf(s.metric) })),
          axes: answer.metrics,
          kind: kind.value === 'bar' ? 'bar' : 'line',
          xLabel: `${answer.bucket ?? ''} bucket`,
        });
        note.textContent = `${answer.rows.length} rows${answer.truncated ? ` (truncated at ${LIMIT})` : ''}`;
        tableBox.replaceChildren(resultTable(answer));
      } catch (e) {
        if (!signal.aborted) error.show(e);
      }
    };

    view.addEventListener('change', onView);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void draw();
    });
    getJson<{ views: View[] }>('/v1/analytics', signal)
      .then((answer) => {
        views = answer.views;
        options(
          view,
          views.map((v) => v.name),
          'finance_scores',
        );
        onView();
        return draw();
      })
      .catch((e: unknown) => error.show(e));
  },
};
