/**
 * Training jobs on the Models page: queue one on a dataset (with a priority), or open one by id,
 * and follow its events live: status, the train log-loss curve as steps arrive, held-out metrics
 * at the end. Below, the tenant's jobs and runs (console/pages/training-runs.ts).
 */
import type uPlot from 'uplot';
import { getJson, postJson } from '../lib/api.ts';
import { timeChart } from '../lib/charts.ts';
import { el, errorLine, options } from '../lib/dom.ts';
import { recent, remember } from '../lib/recent.ts';
import { readEvents } from '../lib/sse.ts';
import { dataTable, num, row } from '../lib/table.ts';
import { jobsSection } from './training-runs.ts';

interface TrainingJob {
  id: string;
  status: string;
  reason: string | null;
  dataset: string;
  dataset_version: number;
  algorithm: string;
  model_id: string;
  model_version: string | null;
  metrics: { holdout?: Record<string, number> } | null;
}

interface Progress {
  step: number;
  of: number;
  train_log_loss: number;
}

const ALGORITHMS = ['gradient_boosting', 'logistic_regression', 'mlp'];
const TERMINAL = new Set(['done', 'failed', 'cancelled']);
const HOLDOUT_METRICS = ['accuracy', 'auc', 'log_loss', 'calibration_error'];

/**
 * The training section; `onDone` runs when a followed job registers its version. `mayCancel`: the
 * key may cancel jobs (the analytics permission, as training needs).
 */
export function trainingSection(signal: AbortSignal, onDone: () => void, mayCancel: boolean): HTMLElement {
  const dataset = el('input', { id: 'train-dataset', required: true, placeholder: 'flight-delays' });
  const algorithm = el('select', { id: 'train-algorithm' });
  options(algorithm, ALGORITHMS);
  const params = el('input', { id: 'train-params', value: '{}', size: 30 });
  const priority = el('input', { id: 'train-priority', type: 'number', min: '-10', max: '10', value: '0', size: 4 });
  const trainForm = el(
    'form',
    { id: 'train-form' },
    el('label', {}, 'Dataset ', dataset),
    el('label', {}, 'Algorithm ', algorithm),
    el('label', {}, 'Params (JSON) ', params),
    el('label', {}, 'Priority ', priority),
    el('button', { type: 'submit' }, 'Train'),
  );
  const jobId = el('input', { id: 'job-id', required: true, size: 38 });
  const jobForm = el(
    'form',
    { id: 'job-form' },
    el('label', {}, 'Job id ', jobId),
    el('button', { type: 'submit' }, 'Follow'),
  );
  const recentJobs = el('p', { id: 'recent-jobs', className: 'hint' });
  const error = errorLine();
  const status = el('p', { id: 'job-status' });
  const lossBox = el('div', { id: 'loss-chart', className: 'chart' });
  const metrics = dataTable('job-metrics', ['held-out metric', 'value']);
  metrics.table.hidden = true;

  const jobs = jobsSection(signal, (id) => void open(id), mayCancel);
  let follow: AbortController | undefined;
  let chart: uPlot | undefined;
  signal.addEventListener('abort', () => chart?.destroy());

  const showRecent = () =>
    recentJobs.replaceChildren(
      ...recent('training-jobs').flatMap((id) => [
        el('button', { type: 'button', className: 'link', onclick: () => void open(id) }, id.slice(0, 8)),
        ' ',
      ]),
    );
  const showJob = (job: TrainingJob) => {
    status.dataset.status = job.status;
    status.textContent = `${job.status}: ${job.algorithm} on ${job.dataset} v${job.dataset_version} → ${job.model_id} ${job.model_version ?? ''}${job.reason ? ` (${job.reason})` : ''}`;
    const holdout = job.metrics?.holdout;
    metrics.table.hidden = !holdout;
    if (holdout) metrics.body.replaceChildren(...HOLDOUT_METRICS.map((m) => row([m, num(holdout[m])])));
  };
  const drawLoss = (steps: number[], losses: number[]) => {
    if (chart) return chart.setData([steps, losses]);
    chart = timeChart(lossBox, {
      x: steps,
      xNumeric: true,
      xLabel: 'step',
      series: [{ label: 'train log-loss', values: losses }],
      axes: ['log-loss'],
      height: 260,
    });
  };

  async function open(id: string): Promise<void> {
    follow?.abort();
    follow = new AbortController();
    const stop = AbortSignal.any([signal, follow.signal]);
    error.clear();
    jobId.value = id;
    chart?.destroy();
    chart = undefined;
    lossBox.replaceChildren();
    delete lossBox.dataset.steps;
    const [steps, losses]: [number[], number[]] = [[], []];
    try {
      showJob(await getJson<TrainingJob>(`/v1/training-jobs/${encodeURIComponent(id)}`, stop));
      remember('training-jobs', id);
      showRecent();
      await readEvents(`/v1/training-jobs/${encodeURIComponent(id)}/events`, stop, (event) => {
        if (event.event === 'progress') {
          const p = JSON.parse(event.data) as Progress;
          steps.push(p.step);
          losses.push(p.train_log_loss);
          drawLoss(steps, losses);
          lossBox.dataset.steps = String(steps.length);
          status.textContent = `running: step ${p.step} of ${p.of}, train log-loss ${num(p.train_log_loss)}`;
        }
        if (event.event === 'started') jobs.refresh();
        if (TERMINAL.has(event.event))
          void getJson<TrainingJob>(`/v1/training-jobs/${encodeURIComponent(id)}`, stop).then((job) => {
            showJob(job);
            jobs.refresh();
            if (job.status === 'succeeded') onDone();
          }, error.show);
      });
    } catch (e) {
      if (!stop.aborted) error.show(e);
    }
  }

  trainForm.addEventListener('submit', (event) => {
    event.preventDefault();
    error.clear();
    let parsed: unknown;
    try {
      parsed = JSON.parse(params.value || '{}');
    } catch {
      return error.show('params: not JSON');
    }
    const body = {
      dataset: dataset.value.trim(),
      algorithm: algorithm.value,
      params: parsed,
      priority: Number(priority.value || 0),
    };
    status.dataset.status = 'queuing';
    status.textContent = 'queuing…';
    postJson<TrainingJob>('/v1/training-jobs', body, signal).then((job) => {
      jobs.refresh();
      return open(job.id);
    }, error.show);
  });
  jobForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void open(jobId.value.trim());
  });
  showRecent();
  return el(
    'section',
    { id: 'training' },
    el('h3', {}, 'Training jobs'),
    trainForm,
    jobForm,
    recentJobs,
    error.element,
    status,
    lossBox,
    metrics.table,
    jobs.element,
  );
}
