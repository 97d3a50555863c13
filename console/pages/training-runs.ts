/**
 * The tenant's training jobs on the Models page: a table newest first (filtered by status, a page
 * at a time), a Cancel button on queued and running jobs, and two finished runs compared side by
 * side (the parameters that changed, each held-out metric of both with b - a).
 */
import { getJson, postJson, withQuery } from '../lib/api.ts';
import { el, errorLine, isoSecond, options } from '../lib/dom.ts';
import { dataTable, num, row } from '../lib/table.ts';

export interface ListedJob {
  id: string;
  status: string;
  priority: number;
  dataset: string;
  dataset_version: number;
  algorithm: string;
  params: Record<string, unknown>;
  model_id: string;
  model_version: string | null;
  metrics: { holdout?: Record<string, number> } | null;
  created_at: string;
}

interface Comparison {
  changed: string[];
  params: { name: string; a: unknown; b: unknown; changed: boolean }[];
  metrics: { name: string; a: number; b: number; delta: number; better: 'a' | 'b' | null }[];
}

const STATUSES = ['all', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
const CANCELLABLE = new Set(['queued', 'running']);
const PAGE = 20;

const shown = (value: unknown) => (value === null || value === undefined ? '—' : JSON.stringify(value));

/**
 * The jobs table and the comparison; `follow` opens a job's live view, `refresh` reloads the first
 * page. Cancel buttons show only when `mayCancel`.
 */
export function jobsSection(
  signal: AbortSignal,
  follow: (id: string) => void,
  mayCancel: boolean,
): { element: HTMLElement; refresh: () => void } {
  const status = el('select', { id: 'jobs-status' });
  options(status, STATUSES);
  const jobs = dataTable('training-jobs', [
    'compare',
    'job',
    'status',
    'priority',
    'algorithm',
    'dataset',
    'model',
    'params',
    'AUC',
    'created',
    '',
  ]);
  const more = el('button', { type: 'button', id: 'jobs-more', hidden: true }, 'More');
  const compare = el('button', { type: 'button', id: 'compare-runs', disabled: true }, 'Compare the two checked runs');
  const error = errorLine();
  const params = dataTable('run-params', ['parameter', 'a', 'b']);
  const metrics = dataTable('run-metrics', ['held-out metric', 'a', 'b', 'b - a', 'better']);
  const comparison = el('div', { id: 'run-comparison', hidden: true }, params.table, metrics.table);
  let next: string | null = null;
  let generation = 0;

  const picked = () =>
    [...jobs.body.querySelectorAll<HTMLInputElement>('input.compare-pick:checked')].map((box) => box.value);
  const onPick = () => {
    const chosen = picked();
    compare.disabled = chosen.length !== 2;
    compare.dataset.picked = String(chosen.length);
  };

  const cancel = (job: ListedJob) =>
    postJson<ListedJob>(`/v1/training-jobs/${encodeURIComponent(job.id)}/cancel`, {}, signal).then(
      () => refresh(),
      error.show,
    );

  const jobRow = (job: ListedJob) =>
    row(
      [
        job.metrics?.holdout
          ? el('input', { type: 'checkbox', className: 'compare-pick', value: job.id, onchange: onPick })
          : null,
        el('button', { type: 'button', className: 'link', onclick: () => follow(job.id) }, job.id.slice(0, 8)),
        job.status,
        job.priority,
        job.algorithm,
        `${job.dataset} v${job.dataset_version}`,
        `${job.model_id} ${job.model_version ?? ''}`.trim(),
        JSON.stringify(job.params),
        num(job.metrics?.holdout?.auc),
        isoSecond(job.created_at),
        mayCancel && CANCELLABLE.has(job.status)
          ? el('button', { type: 'button', className: 'cancel-job', onclick: () => void cancel(job) }, 'Cancel')
          : null,
      ],
      { id: job.id, status: job.status },
    );

  async function load(append: boolean): Promise<void> {
    const mine = append ? generation : ++generation;
    const query = {
      status: status.value === 'all' ? undefined : status.value,
      limit: PAGE,
      cursor: append ? (next ?? undefined) : undefined,
    };
    const page = await getJson<{ jobs: ListedJob[]; next_cursor: string | null }>(
      withQuery('/v1/training-jobs', query),
      signal,
    );
    if (mine !== generation) return; // a newer load replaced this one
    if (append) jobs.body.append(...page.jobs.map(jobRow));
    else jobs.body.replaceChildren(...page.jobs.map(jobRow));
    next = page.next_cursor;
    more.hidden = next === null;
    jobs.table.dataset.loaded = String(jobs.body.rows.length);
    onPick();
  }
  const refresh = () => {
    error.clear();
    load(false).catch((e: unknown) => signal.aborted || error.show(e));
  };

  async function showComparison(): Promise<void> {
    const [a, b] = picked();
    const answer = await getJson<Comparison>(withQuery('/v1/training-runs/compare', { a, b }), signal);
    params.body.replaceChildren(
      ...answer.params.map((p) => row([p.name, shown(p.a), shown(p.b)], { changed: String(p.changed) })),
    );
    metrics.body.replaceChildren(
      ...answer.metrics.map((m) => row([m.name, num(m.a), num(m.b), num(m.delta), m.better ?? '—'])),
    );
    comparison.hidden = false;
    comparison.dataset.a = a!;
    comparison.dataset.b = b!;
  }

  status.addEventListener('change', refresh);
  more.addEventListener('click', () => void load(true).catch(error.show));
  compare.addEventListener('click', () => void showComparison().catch(error.show));
  refresh();
  return {
    element: el(
      'section',
      { id: 'training-runs' },
      el('h4', {}, 'Jobs and runs'),
      el('label', {}, 'Status ', status),
      jobs.table,
      more,
      compare,
      error.element,
      comparison,
    ),
    refresh,
  };
}
