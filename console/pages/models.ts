/**
 * Models: the tenant's models and the platform's, a model's versions with their stage
 * (production, staging, archived; shadow when attached in shadow mode) and files, promoting,
 * archiving or restoring a version or attaching one in shadow mode (only where the key may change
 * the model: its tenant's admins, or operators for platform models), a shadow version's comparison
 * with the active one, a version's drift over time (mean probability, actual rate, and the PSI of
 * its probabilities against the first week), and training jobs (training.ts).
 */
import { authHeaders, failure, getJson, postJson, request } from '../lib/api.ts';
import { timeChart } from '../lib/charts.ts';
import { el, errorLine, isoSecond } from '../lib/dom.ts';
import { can } from '../lib/me.ts';
import { dataTable, num, row } from '../lib/table.ts';
import type { Page } from './page.ts';
import { trainingSection } from './training.ts';

interface Model {
  id: string;
  tenant_id: string | null;
  description: string | null;
  created_at: string;
  active_version: string | null;
  versions: number;
}

interface Version {
  version: string;
  stage: 'staging' | 'production' | 'archived';
  active: boolean;
  shadow: boolean;
  created_at: string;
  activated_at: string | null;
  manifest: { metrics?: { holdout?: { auc?: number } } };
}

type Metrics = Record<'rows' | 'positive_rate' | 'accuracy' | 'auc' | 'log_loss' | 'calibration_error', number>;

interface Comparison {
  version: string;
  records: number;
  active_versions: { version: string; records: number }[];
  agreement: number | null;
  mean_abs_probability_diff: number | null;
  active: Metrics | null;
  shadow: Metrics | null;
  delta: Partial<Metrics> | null;
}

interface DriftPoint {
  start: string;
  rows: number;
  mean_probability: number;
  actual_rate: number;
  psi: number;
}

const COMPARED = ['rows', 'positive_rate', 'accuracy', 'auc', 'log_loss', 'calibration_error'] as const;

const stage = (v: Pick<Version, 'stage' | 'shadow'>): string => (v.shadow ? 'shadow' : v.stage);

const versionPath = (model: string, version: string) =>
  `/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`;

export const models: Page = {
  path: 'models',
  title: 'Models',
  mount(root, signal, me) {
    const error = errorLine();
    const list = dataTable('models', ['model', 'description', 'active version', 'versions', 'registered', 'owner']);
    /** Whether this key may change the model: a tenant's admin its own, an operator the platform's. */
    const mayChange = (owner: string | null) =>
      owner === null ? can(me, 'operate') : can(me, 'manage_models') && !can(me, 'operate');
    const versionsTitle = el('h3', { id: 'versions-title' });
    const versions = dataTable('model-versions', ['version', 'stage', 'registered', 'activated', 'held-out AUC', '']);
    const comparisonTitle = el('h3', { id: 'comparison-title' });
    const comparison = dataTable('comparison', ['metric', 'active', 'shadow', 'shadow − active']);
    const comparisonNote = el('p', { id: 'comparison-note' });
    const detail = el('section', { id: 'model-detail', hidden: true }, versionsTitle, versions.table);
    const compared = el('section', { id: 'shadow-comparison', hidden: true }, comparisonTitle, comparisonNote);
    compared.append(comparison.table);

    const driftTitle = el('h3', { id: 'drift-title' });
    const driftChart = el('div', { id: 'drift-chart', className: 'chart' });
    const driftRows = dataTable('drift', ['week of', 'scores', 'mean probability', 'actual rate', 'PSI']);
    const drift = el('section', { id: 'model-drift', hidden: true }, driftTitle, driftChart, driftRows.table);
    let chart: { destroy(): void } | undefined;
    signal.addEventListener('abort', () => chart?.destroy());

    const act = (label: string, action: () => Promise<unknown>) =>
      el('button', { type: 'button', onclick: () => void action().catch(error.show) }, label);

    async function showComparison(model: string, version: string): Promise<void> {
      const c = await getJson<Comparison>(`${versionPath(model, version)}/comparison`, signal);
      compared.hidden = false;
      comparisonTitle.textContent = `Shadow ${version} against the active version`;
      comparisonNote.textContent =
        `${c.records} records scored by both (active: ${c.active_versions.map((a) => `${a.version} on ${a.records}`).join(', ') || 'none'}); ` +
        `agreement ${num(c.agreement)}, mean |probability difference| ${num(c.mean_abs_probability_diff)}`;
      comparison.body.replaceChildren(
        ...COMPARED.map((m) => row([m, num(c.active?.[m]), num(c.shadow?.[m]), num(c.delta?.[m])], { metric: m })),
      );
    }

    async function showDrift(model: string, version: string): Promise<void> {
      const { points } = await getJson<{ points: DriftPoint[] }>(
        `${versionPath(model, version)}/drift?bucket=week`,
        signal,
      );
      drift.hidden = false;
      drift.dataset.version = version;
      driftTitle.textContent = `Drift of ${version}: ${points.length ? 'by week, PSI against the first week (above 0.25: drift)' : 'no scores yet'}`;
      driftRows.body.replaceChildren(
        ...points.map((p) =>
          row([p.start.slice(0, 10), p.rows, num(p.mean_probability), num(p.actual_rate), num(p.psi)], {
            start: p.start,
          }),
        ),
      );
      chart?.destroy();
      chart = undefined;
      driftChart.replaceChildren();
      if (points.length === 0) return;
      chart = timeChart(driftChart, {
        x: points.map((p) => Date.parse(p.start) / 1000),
        xLabel: 'week',
        series: [
          { label: 'mean probability', values: points.map((p) => p.mean_probability) },
          { label: 'actual rate', values: points.map((p) => p.actual_rate), dash: [6, 4] },
          { label: 'PSI', values: points.map((p) => p.psi), axis: 1 },
        ],
        axes: ['probability', 'PSI'],
        height: 260,
      });
    }

    // a version's graph as the API serves it, through a blob: the key stays in a header
    async function download(path: string, file: string): Promise<void> {
      const response = await fetch(`${path}/files/${file}`, { headers: authHeaders(), signal });
      if (!response.ok) throw await failure(response);
      const link = el('a', { href: URL.createObjectURL(await response.blob()), download: file });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    }

    /** Every file of a version (its manifest and graphs), each a download. */
    async function downloadAll(path: string): Promise<void> {
      const { files } = await getJson<{ files: { name: string }[] }>(path, signal);
      for (const { name } of files) await download(path, name);
    }

    async function showVersions(model: string, owner: string | null): Promise<void> {
      const answer = await getJson<{ versions: Version[] }>(`/v1/models/${encodeURIComponent(model)}/versions`, signal);
      detail.hidden = false;
      detail.dataset.model = model;
      versionsTitle.textContent = `Versions of ${model}`;
      const refresh = () => Promise.all([showModels(), showVersions(model, owner)]);
      const toStage = (path: string, to: Version['stage']) => () =>
        postJson(`${path}/stage`, { stage: to }).then(refresh);
      versions.body.replaceChildren(
        ...answer.versions.map((v) => {
          const path = versionPath(model, v.version);
          const actions = el(
            'td',
            {},
            act('Drift', () => showDrift(model, v.version)),
            act('Download', () => downloadAll(path)),
          );
          if (v.shadow) actions.append(act('Compare', () => showComparison(model, v.version)));
          if (mayChange(owner)) {
            if (v.stage === 'staging')
              actions.append(act('Activate', () => postJson(`${path}/activate`, {}).then(refresh)));
            if (v.stage === 'staging' && !v.shadow)
              actions.append(act('Shadow', () => postJson(`${path}/shadow`, {}).then(refresh)));
            if (v.shadow)
              actions.append(act('Detach', () => request(`${path}/shadow`, { method: 'DELETE' }).then(refresh)));
            if (v.stage === 'staging' && !v.shadow) actions.append(act('Archive', toStage(path, 'archived')));
            if (v.stage === 'archived') actions.append(act('Restore', toStage(path, 'staging')));
          }
          const tr = row(
            [
              v.version,
              stage(v),
              isoSecond(v.created_at),
              v.activated_at && isoSecond(v.activated_at),
              num(v.manifest.metrics?.holdout?.auc),
            ],
            { version: v.version, stage: stage(v) },
          );
          tr.append(actions);
          return tr;
        }),
      );
    }

    async function showModels(): Promise<void> {
      const answer = await getJson<{ models: Model[] }>('/v1/models', signal);
      list.body.replaceChildren(
        ...answer.models.map((m) => {
          const open = el(
            'button',
            {
              type: 'button',
              className: 'link',
              onclick: () => void showVersions(m.id, m.tenant_id).catch(error.show),
            },
            m.id,
          );
          return row(
            [
              open,
              m.description,
              m.active_version,
              m.versions,
              isoSecond(m.created_at),
              m.tenant_id === null ? 'platform' : 'tenant',
            ],
            { id: m.id },
          );
        }),
      );
    }

    root.append(
      el('h2', {}, 'Models'),
      error.element,
      list.table,
      detail,
      compared,
      drift,
      trainingSection(signal, () => void showModels().catch(error.show), can(me, 'analytics')),
    );
    showModels().catch(error.show);
  },
};
