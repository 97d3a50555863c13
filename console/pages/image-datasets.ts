/**
 * Image datasets: create one (keywords in, a crawl starts) or open one of this tab's, follow its
 * crawl live (counts, progress, rejections by reason), pause, resume or cancel it, see its
 * accepted images, and export the manifest. The gallery fetches each accepted image's thumbnail
 * (the API's WebP, cacheable for good) with the key and shows it as a data: URL (the CSP lets no
 * other host's image in).
 */
import { authHeaders, failure, getJson, postJson } from '../lib/api.ts';
import { el, errorLine, isoSecond } from '../lib/dom.ts';
import { recent, remember } from '../lib/recent.ts';
import { readEvents } from '../lib/sse.ts';
import { dataTable, row } from '../lib/table.ts';
import type { Page } from './page.ts';

interface DatasetStatus {
  id: string;
  name: string;
  state: string;
  error: string | null;
  keywords: { keyword: string; terms: string[] }[];
  counts: {
    found: number;
    validated: number;
    downloaded: number;
    accepted: number;
    rejected: { total: number; by_reason: Record<string, number> };
    duplicates: { total: number; exact: number; near: number };
  };
  created_at: string;
}

interface ManifestLine {
  file: string;
  sha256: string;
  width: number;
  height: number;
  format: string;
  keyword: string;
  source_url: string;
}

const KIND = 'image-datasets';
const GALLERY_MAX = 60;
const CARD_PX = 120;
/** The thumbnail size the API makes that covers a card. */
const THUMBNAIL_PX = 128;
const ENDED = new Set(['done', 'failed', 'cancelled']);

const datasetPath = (id: string) => `/v1/image-datasets/${encodeURIComponent(id)}`;

/** The manifest's lines (JSON lines), as the export serves them. */
async function manifest(id: string, signal: AbortSignal): Promise<{ text: string; lines: ManifestLine[] }> {
  const response = await fetch(`${datasetPath(id)}/export`, { headers: authHeaders(), signal });
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return {
    text,
    lines: text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ManifestLine),
  };
}

/**
 * A card as wide as the image is, in proportion, within CARD_PX: the image's thumbnail, fetched with
 * the key (never in a URL) and shown as a data: URL, which the CSP allows; its facts below.
 */
function card(datasetId: string, image: ManifestLine, signal: AbortSignal): HTMLElement {
  const scale = CARD_PX / Math.max(image.width, image.height, 1);
  const frame = el(
    'div',
    { className: 'frame', title: image.source_url },
    `${image.format} ${image.width}×${image.height}`,
  );
  // CSSOM writes, which the CSP allows (style attributes it would not)
  frame.style.width = `${Math.max(Math.round(image.width * scale), 24)}px`;
  frame.style.height = `${Math.max(Math.round(image.height * scale), 24)}px`;
  void thumbnail(`${datasetPath(datasetId)}/images/${image.sha256}/thumbnail?size=${THUMBNAIL_PX}`, signal).then(
    (src) => {
      const img = el('img', { src, alt: `${image.keyword} ${image.format} ${image.width}×${image.height}` });
      img.style.width = frame.style.width;
      img.style.height = frame.style.height;
      frame.replaceChildren(img);
    },
    () => undefined, // the box with its facts stays: the page goes on without the pixels
  );
  return el(
    'figure',
    { className: 'image-card', dataset: { sha256: image.sha256 } },
    frame,
    el(
      'figcaption',
      {},
      `${image.format} ${image.width}×${image.height}`,
      el('br'),
      image.keyword,
      el('br'),
      el('code', {}, image.sha256.slice(0, 12)),
    ),
  );
}

/** The image at `path` as a data: URL. */
async function thumbnail(path: string, signal: AbortSignal): Promise<string> {
  const response = await fetch(path, { headers: authHeaders(), signal });
  if (!response.ok) throw await failure(response);
  const blob = await response.blob();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('the image could not be read'));
    reader.readAsDataURL(blob);
  });
}

export const imageDatasets: Page = {
  path: 'image-datasets',
  title: 'Image datasets',
  mount(root, signal) {
    const error = errorLine();
    const name = el('input', { id: 'ds-name', required: true, placeholder: 'zebras' });
    const keywords = el('input', { id: 'ds-keywords', required: true, placeholder: 'zebra, giraffe', size: 30 });
    const perKeyword = el('input', { id: 'ds-per-keyword', type: 'number', min: '1', value: '50' });
    const minSide = el('input', { id: 'ds-min-side', type: 'number', min: '0', value: '0' });
    const create = el(
      'form',
      { id: 'ds-create' },
      el('label', {}, 'Name ', name),
      el('label', {}, 'Keywords ', keywords),
      el('label', {}, 'Per keyword ', perKeyword),
      el('label', {}, 'Min width and height ', minSide),
      el('button', { type: 'submit' }, 'Crawl'),
    );
    const recentList = el('p', { id: 'ds-recent', className: 'hint' });
    const title = el('h3', { id: 'ds-title' });
    const state = el('span', { id: 'ds-state', className: 'state' });
    const bar = el('progress', { id: 'ds-progress', max: 1 });
    const counts = dataTable('ds-counts', [
      'found',
      'validated',
      'downloaded',
      'accepted',
      'rejected',
      'duplicates (exact, near)',
    ]);
    const reasons = dataTable('ds-rejections', ['rejected because', 'images']);
    const gallery = el('div', { id: 'ds-gallery', className: 'gallery' });
    const galleryNote = el('p', { id: 'ds-gallery-note', className: 'hint' });
    const exportButton = el('button', { type: 'button', id: 'ds-export', disabled: true }, 'Export manifest');
    const controlButtons = (['pause', 'resume', 'cancel'] as const).map((action) =>
      el(
        'button',
        {
          type: 'button',
          id: `ds-${action}`,
          hidden: true,
          onclick: () => postJson<DatasetStatus>(`${datasetPath(openId)}/${action}`, {}, signal).then(show, error.show),
        },
        action[0]!.toUpperCase() + action.slice(1),
      ),
    );
    const detail = el(
      'section',
      { id: 'ds-detail', hidden: true },
      title,
      el('p', {}, state, ' ', bar, ' ', ...controlButtons),
      counts.table,
      el('h4', {}, 'Rejections by reason'),
      reasons.table,
      el('h4', {}, 'Accepted images ', exportButton),
      galleryNote,
      gallery,
    );
    let follow: AbortController | undefined;
    let openId = '';

    const showRecent = () =>
      recentList.replaceChildren(
        'This tab’s datasets: ',
        ...recent(KIND).flatMap((id) => [
          el('button', { type: 'button', className: 'link', onclick: () => void open(id) }, id),
          ' ',
        ]),
      );

    const show = (s: DatasetStatus) => {
      const c = s.counts;
      title.textContent = `${s.name} (${s.keywords.map((k) => k.keyword).join(', ')}), created ${isoSecond(s.created_at)}`;
      state.dataset.state = s.state;
      state.textContent = s.error ? `${s.state}: ${s.error}` : s.state;
      // what the crawl's state allows: pause a crawling one, resume a paused one, cancel either
      const [pause, resume, cancel] = controlButtons;
      pause!.hidden = s.state !== 'crawling';
      resume!.hidden = s.state !== 'paused';
      cancel!.hidden = s.state !== 'crawling' && s.state !== 'paused';
      bar.max = Math.max(c.found, 1);
      bar.value = c.validated;
      counts.body.replaceChildren(
        row([
          c.found,
          c.validated,
          c.downloaded,
          c.accepted,
          c.rejected.total,
          `${c.duplicates.total} (${c.duplicates.exact}, ${c.duplicates.near})`,
        ]),
      );
      reasons.body.replaceChildren(
        ...Object.entries(c.rejected.by_reason)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([reason, n]) => row([reason, n], { reason })),
      );
    };

    async function showGallery(id: string, stop: AbortSignal): Promise<void> {
      const { lines } = await manifest(id, stop);
      gallery.replaceChildren(...lines.slice(0, GALLERY_MAX).map((image) => card(id, image, stop)));
      gallery.dataset.images = String(lines.length);
      galleryNote.textContent = `${lines.length} accepted${lines.length > GALLERY_MAX ? `, the first ${GALLERY_MAX} shown` : ''}, with format, size, keyword and sha256.`;
      exportButton.disabled = false;
    }

    async function open(id: string): Promise<void> {
      follow?.abort();
      follow = new AbortController();
      const stop = AbortSignal.any([signal, follow.signal]);
      openId = id;
      error.clear();
      exportButton.disabled = true;
      gallery.replaceChildren();
      galleryNote.textContent = 'shown when the crawl is done';
      try {
        const status = await getJson<DatasetStatus>(datasetPath(id), stop);
        remember(KIND, id);
        showRecent();
        detail.hidden = false;
        detail.dataset.id = id;
        show(status);
        if (!ENDED.has(status.state))
          await readEvents(`${datasetPath(id)}/events`, stop, (event) => {
            if (event.data) show(JSON.parse(event.data) as DatasetStatus);
          });
        await showGallery(id, stop);
      } catch (e) {
        if (!stop.aborted) error.show(e);
      }
    }

    create.addEventListener('submit', (event) => {
      event.preventDefault();
      error.clear();
      const side = Number(minSide.value);
      const body = {
        name: name.value.trim(),
        keywords: keywords.value
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
        per_keyword: Number(perKeyword.value),
        min_width: side,
        min_height: side,
      };
      postJson<DatasetStatus>('/v1/image-datasets', body, signal).then((s) => open(s.id), error.show);
    });
    // a download of the manifest as the API serves it, through a blob: the key stays in a header
    exportButton.addEventListener('click', () => {
      manifest(openId, signal).then(({ text }) => {
        const link = el('a', {
          href: URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' })),
          download: `${openId}-manifest.jsonl`,
        });
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      }, error.show);
    });
    root.append(el('h2', {}, 'Image datasets'), create, recentList, error.element, detail);
    showRecent();
  },
};
