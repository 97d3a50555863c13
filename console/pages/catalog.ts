/**
 * Catalog: a catalog upload's progress, followed live by id from its event stream, then a preview
 * of its result file; and the taxonomy editor (catalog-taxonomy.ts).
 */
import { authHeaders, failure } from '../lib/api.ts';
import { parseCsv } from '../lib/csv.ts';
import { el } from '../lib/dom.ts';
import { readEvents } from '../lib/sse.ts';
import { dataTable, row } from '../lib/table.ts';
import { taxonomySection } from './catalog-taxonomy.ts';
import type { Page } from './page.ts';

const PREVIEW_ROWS = 20;

/** The result file's header and rows. */
async function result(id: string, signal: AbortSignal): Promise<string[][]> {
  const response = await fetch(`/v1/uploads/${encodeURIComponent(id)}/result`, { headers: authHeaders(), signal });
  if (!response.ok) throw await failure(response);
  return parseCsv(await response.text());
}

interface Progress {
  state: string;
  percent: number | null;
  classified_rows: number;
  rejected_rows: number;
  total_rows: number | null;
  done: boolean;
}

export const catalog: Page = {
  path: 'catalog',
  title: 'Catalog',
  mount(root, signal) {
    const id = el('input', { id: 'upload-id', required: true });
    const form = el(
      'form',
      { id: 'upload-form' },
      el('label', {}, 'Upload id ', id),
      el('button', { type: 'submit' }, 'Follow'),
    );
    const bar = el('progress', { id: 'upload-progress', max: 100 });
    const text = el('span', { id: 'upload-text' });
    const preview = el('section', { id: 'result-preview', hidden: true });
    root.append(
      el('h2', {}, 'Catalog upload progress'),
      form,
      el('p', {}, bar, ' ', text),
      preview,
      taxonomySection(signal),
    );
    const showResult = async (upload: string, stop: AbortSignal) => {
      const [head = [], ...rows] = await result(upload, stop);
      const table = dataTable('result-table', head);
      table.body.append(...rows.slice(0, PREVIEW_ROWS).map((cells) => row(cells)));
      preview.hidden = false;
      preview.dataset.rows = String(rows.length);
      preview.replaceChildren(
        el('h3', {}, `Result preview: ${Math.min(rows.length, PREVIEW_ROWS)} of ${rows.length} rows`),
        table.table,
      );
    };

    let follow: AbortController | undefined;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      follow?.abort();
      follow = new AbortController();
      const stop = AbortSignal.any([signal, follow.signal]);
      text.textContent = 'connecting…';
      preview.hidden = true;
      const upload = id.value.trim();
      const showError = (error: unknown) => {
        if (!stop.aborted) text.textContent = error instanceof Error ? error.message : String(error);
      };
      readEvents(`/v1/uploads/${encodeURIComponent(upload)}/events`, stop, (e) => {
        if (e.event !== 'progress' && e.event !== 'done') return;
        const p = JSON.parse(e.data) as Progress;
        if (p.percent === null) bar.removeAttribute('value');
        else bar.value = p.percent;
        text.textContent = `${p.state}: ${p.classified_rows} classified, ${p.rejected_rows} rejected of ${p.total_rows ?? '?'} rows${p.done ? ' (done)' : ''}`;
        if (p.done && p.classified_rows > 0) void showResult(upload, stop).catch(showError);
      }).catch(showError);
    });
  },
};
