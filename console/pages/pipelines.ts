/**
 * Pipelines (operators): every role with its state, processes, consumer group, lag, rates, dead
 * letters, restarts and last error, refreshed every few seconds; a click on a role shows its lag per
 * partition and its group's members; a chart above draws the total lag since the page opened.
 */
import type uPlot from 'uplot';
import { getJson } from '../lib/api.ts';
import { timeChart } from '../lib/charts.ts';
import { el, errorLine, isoSecond } from '../lib/dom.ts';
import { History } from '../lib/history.ts';
import type { Page } from './page.ts';

interface TopicPartition {
  topic: string;
  partition: number;
}

interface RoleStatus {
  role: string;
  name: string;
  state: 'running' | 'stopped' | 'down';
  instances: { id: string; host: string; pid: number; started_at: string }[];
  /** null for a source: it reads no topic */
  group: {
    id: string;
    state: string;
    members: { member_id: string; client_id: string; host: string; partitions: TopicPartition[] }[];
  } | null;
  partitions: (TopicPartition & { committed: string | null; end: string; lag: number })[];
  lag: number;
  records_in_per_s: number;
  records_out_per_s: number;
  dlq_records: number;
  restarts: number;
  last_error: { message: string; at: string } | null;
}

const REFRESH_MS = 3000;
/** an hour of refreshes */
const KEPT_POINTS = 1200;
const COLUMNS = [
  'role',
  'name',
  'state',
  'processes',
  'group',
  'lag',
  'in/s',
  'out/s',
  'dlq',
  'restarts',
  'last error',
];

const rate = (perSecond: number): string => perSecond.toFixed(1);
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
const partitionsText = (partitions: readonly TopicPartition[]): string =>
  partitions.map((p) => `${p.topic}:${p.partition}`).join(', ') || '—';

function table(id: string, columns: readonly string[], rows: readonly (string | number | Node)[][]): HTMLTableElement {
  return el(
    'table',
    { id },
    el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', {}, c)))),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c))))),
  );
}

function roleRow(r: RoleStatus, selected: boolean): HTMLTableRowElement {
  const row = el(
    'tr',
    { className: 'role', dataset: { name: r.name } },
    el('td', {}, r.role),
    el('td', {}, r.name),
    el('td', {}, el('span', { className: 'state', dataset: { state: r.state } }, r.state)),
    el('td', {}, r.instances.map((i) => `${i.host} pid ${i.pid}`).join(', ') || '—'),
    r.group
      ? el('td', { title: r.group.id }, `${r.group.state}, ${plural(r.group.members.length, 'member')}`)
      : el('td', {}, '—'),
    el('td', { className: 'number' }, r.lag),
    el('td', { className: 'number' }, rate(r.records_in_per_s)),
    el('td', { className: 'number' }, rate(r.records_out_per_s)),
    el('td', { className: 'number' }, r.dlq_records),
    el('td', { className: 'number' }, r.restarts),
    el('td', { className: 'message' }, r.last_error ? `${isoSecond(r.last_error.at)} ${r.last_error.message}` : '—'),
  );
  if (selected) row.setAttribute('aria-selected', 'true');
  return row;
}

/** A role's lag per partition and its group's members with the partitions each holds. */
function details(r: RoleStatus): HTMLElement[] {
  return [
    el('h3', {}, `${r.role} ${r.name}`),
    el('p', { className: 'hint' }, r.group ? `group ${r.group.id}: ${r.group.state}` : 'reads no topic: no group'),
    el('h4', {}, 'Lag per partition'),
    table(
      'pl-partitions',
      ['topic', 'partition', 'committed', 'end', 'lag'],
      r.partitions.map((p) => [p.topic, p.partition, p.committed ?? '—', p.end, p.lag]),
    ),
    el('h4', {}, 'Group members'),
    table(
      'pl-members',
      ['member', 'client id', 'host', 'partitions'],
      (r.group?.members ?? []).map((m) => [m.member_id, m.client_id, m.host, partitionsText(m.partitions)]),
    ),
  ];
}

export const pipelines: Page = {
  path: 'pipelines',
  title: 'Pipelines',
  needs: 'operate',
  mount(root, signal) {
    const error = errorLine();
    const summary = el('p', { id: 'pl-summary' });
    const body = el('tbody', { id: 'pl-rows' });
    const detail = el('section', { id: 'pl-detail' });
    const chartBox = el('div', { id: 'pl-chart', className: 'chart' });
    root.append(
      el('h2', {}, 'Pipelines'),
      error.element,
      summary,
      el('h3', {}, 'Total lag since this page opened'),
      chartBox,
      el('table', { id: 'pl-table' }, el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', {}, c)))), body),
      detail,
    );

    const lag = new History(KEPT_POINTS);
    let [roles, chosen, refreshes] = [[] as RoleStatus[], undefined as string | undefined, 0];
    let chart: uPlot | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      chart?.destroy();
    });

    const render = () => {
      body.replaceChildren(...roles.map((r) => roleRow(r, r.name === chosen)));
      const role = roles.find((r) => r.name === chosen);
      detail.replaceChildren(...(role ? details(role) : []));
    };

    const refresh = async () => {
      try {
        roles = (await getJson<{ roles: RoleStatus[] }>('/v1/pipelines', signal)).roles;
        error.clear();
        const now = Date.now();
        const total = roles.reduce((sum, r) => sum + r.lag, 0);
        lag.add(now / 1000, total);
        render();
        const running = roles.filter((r) => r.state === 'running').length;
        summary.textContent = `${roles.length} roles, ${running} running; total lag ${total}; refreshed at ${isoSecond(now)}`;
        Object.assign(summary.dataset, { lag: String(total), refreshes: String(++refreshes) });
        if (chart) chart.setData([[...lag.x], [...lag.values]]);
        else
          chart = timeChart(chartBox, {
            x: [...lag.x],
            series: [{ label: 'total lag', values: [...lag.values] }],
            axes: ['records behind'],
            clock: true,
            height: 220,
          });
      } catch (e) {
        if (signal.aborted) return;
        error.show(e);
      }
      timer = setTimeout(() => void refresh(), REFRESH_MS);
    };

    body.addEventListener('click', (event) => {
      const row = (event.target as Element).closest<HTMLTableRowElement>('tr.role');
      if (!row) return;
      chosen = row.dataset.name === chosen ? undefined : row.dataset.name;
      render();
    });
    void refresh();
  },
};
