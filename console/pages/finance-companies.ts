/**
 * Finance companies: the tenant's scored companies (a page at a time) and a company's score history
 * as a chart: the combined probability and the three models' beside it, Altman's Z on its own axis.
 */
import type uPlot from 'uplot';
import { getJson, withQuery } from '../lib/api.ts';
import { PALETTE, timeChart } from '../lib/charts.ts';
import { el, errorLine, isoSecond, options } from '../lib/dom.ts';
import { seconds } from '../lib/series.ts';
import { dataTable, num, row } from '../lib/table.ts';

interface Company {
  company_id: string;
  statements: number;
  first_period_end: string;
  last_period_end: string;
  latest: { period_end: string; kind: string; probability: number; category: string; scored_at: string };
}

interface Prediction {
  period_end: string;
  kind: string;
  probability: number;
  ohlson_probability: number;
  zmijewski_probability: number;
  altman_probability: number;
  altman_z: number;
}

const PAGE = 50;
const HISTORY_LIMIT = 1000;
// Altman Z in the colour of its axis, the second (console/lib/charts.ts PALETTE[1])
const HISTORY_SERIES = [
  { field: 'probability', label: 'probability', color: PALETTE[0] },
  { field: 'ohlson_probability', label: 'Ohlson', color: PALETTE[3] },
  { field: 'zmijewski_probability', label: 'Zmijewski', color: PALETTE[2] },
  { field: 'altman_probability', label: 'Altman', color: PALETTE[5] },
  { field: 'altman_z', label: 'Altman Z', color: PALETTE[1], axis: 1 },
] as const;

export function companiesSection(signal: AbortSignal): HTMLElement {
  const error = errorLine();
  const list = dataTable('companies', [
    'company',
    'statements',
    'first period',
    'last period',
    'latest',
    'category',
    'scored',
  ]);
  const more = el('button', { type: 'button', id: 'companies-more', hidden: true }, 'More');
  const title = el('h3', { id: 'history-title' });
  const kind = el('select', { id: 'history-kind' });
  const chartBox = el('div', { id: 'history-chart', className: 'chart' });
  const history = el(
    'section',
    { id: 'company-history', hidden: true },
    title,
    el('label', {}, 'Period ', kind),
    chartBox,
  );
  let chart: uPlot | undefined;
  let cursor: string | null = null;
  let predictions: Prediction[] = [];
  signal.addEventListener('abort', () => chart?.destroy());

  const draw = () => {
    // oldest first, one point per period end of the kind shown
    const shown = predictions.filter((p) => p.kind === kind.value).reverse();
    chart?.destroy();
    chartBox.dataset.points = String(shown.length);
    chart = timeChart(chartBox, {
      x: shown.map((p) => seconds(p.period_end)),
      xLabel: 'period end',
      series: HISTORY_SERIES.map((s) => ({
        label: s.label,
        color: s.color,
        values: shown.map((p) => p[s.field]),
        axis: 'axis' in s ? s.axis : 0,
      })),
      axes: ['probability of default', 'Altman Z'],
      height: 280,
    });
  };

  async function showHistory(company: string): Promise<void> {
    const answer = await getJson<{ predictions: Prediction[] }>(
      withQuery('/v1/predictions', { company, limit: HISTORY_LIMIT }),
      signal,
    );
    predictions = answer.predictions;
    const kinds = [...new Set(predictions.map((p) => p.kind))].sort();
    options(kind, kinds, predictions[0]?.kind);
    history.hidden = false;
    history.dataset.company = company;
    title.textContent = `Score history of ${company}`;
    draw();
  }

  async function loadPage(): Promise<void> {
    const answer = await getJson<{ companies: Company[]; next_cursor: string | null }>(
      withQuery('/v1/companies', { limit: PAGE, cursor: cursor ?? undefined }),
      signal,
    );
    cursor = answer.next_cursor;
    more.hidden = cursor === null;
    list.body.append(
      ...answer.companies.map((c) => {
        const open = el(
          'button',
          { type: 'button', className: 'link', onclick: () => void showHistory(c.company_id).catch(error.show) },
          c.company_id,
        );
        return row(
          [
            open,
            c.statements,
            c.first_period_end,
            c.last_period_end,
            `${c.latest.period_end} ${c.latest.kind}: ${num(c.latest.probability)}`,
            el('span', { className: c.latest.category }, c.latest.category),
            isoSecond(c.latest.scored_at),
          ],
          { id: c.company_id },
        );
      }),
    );
  }

  kind.addEventListener('change', draw);
  more.addEventListener('click', () => void loadPage().catch(error.show));
  const reload = el('button', { type: 'button', id: 'companies-reload' }, 'Reload');
  reload.addEventListener('click', () => {
    cursor = null;
    list.body.replaceChildren();
    loadPage().catch(error.show);
  });
  loadPage().catch(error.show);
  return el(
    'section',
    { id: 'finance-companies' },
    el('h3', {}, 'Companies ', reload),
    error.element,
    list.table,
    more,
    history,
  );
}
