/** Catalog: a catalog upload's progress, followed live by id from its event stream. */
import { el } from '../lib/dom.ts';
import { readEvents } from '../lib/sse.ts';
import type { Page } from './page.ts';

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
    root.append(el('h2', {}, 'Catalog upload progress'), form, el('p', {}, bar, ' ', text));

    let follow: AbortController | undefined;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      follow?.abort();
      follow = new AbortController();
      const stop = AbortSignal.any([signal, follow.signal]);
      text.textContent = 'connecting…';
      readEvents(`/v1/uploads/${encodeURIComponent(id.value.trim())}/events`, stop, (e) => {
        if (e.event !== 'progress' && e.event !== 'done') return;
        const p = JSON.parse(e.data) as Progress;
        if (p.percent === null) bar.removeAttribute('value');
        else bar.value = p.percent;
        text.textContent = `${p.state}: ${p.classified_rows} classified, ${p.rejected_rows} rejected of ${p.total_rows ?? '?'} rows${p.done ? ' (done)' : ''}`;
      }).catch((error: unknown) => {
        if (!stop.aborted) text.textContent = error instanceof Error ? error.message : String(error);
      });
    });
  },
};
