/**
 * The taxonomy editor of the Catalog page: load a taxonomy (latest or a version), edit its genres,
 * attribute values and reference items as text (lib/taxonomy-text.ts), save it as its next version.
 * The API serves a version's reference count, not its items: a save carries the items listed here.
 */
import { getJson, request, withQuery } from '../lib/api.ts';
import { el, errorLine } from '../lib/dom.ts';
import { attributesText, fromText, genresText } from '../lib/taxonomy-text.ts';

interface StoredTaxonomy {
  id: string;
  version: number;
  genres: string[];
  attributes: Record<string, string[]>;
  references: number;
}

const describe = (t: StoredTaxonomy) =>
  `${t.id} version ${t.version}: ${t.genres.length} genres, ${Object.keys(t.attributes).length} attribute groups, ${t.references} reference items`;

export function taxonomySection(signal: AbortSignal): HTMLElement {
  const error = errorLine();
  const id = el('input', { id: 'tax-id', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}', placeholder: 'films' });
  const version = el('input', { id: 'tax-version', type: 'number', min: '1', placeholder: 'latest' });
  const load = el('button', { type: 'button', id: 'tax-load' }, 'Load');
  const genres = el('textarea', { id: 'tax-genres', rows: 6, cols: 30 });
  const attributes = el('textarea', { id: 'tax-attributes', rows: 6, cols: 40, placeholder: 'mood: dark, light' });
  const references = el('textarea', { id: 'tax-references', rows: 6, cols: 50, placeholder: 'Drama | Heat (1995)' });
  const state = el('p', { id: 'tax-state' });
  const form = el(
    'form',
    { id: 'tax-form', className: 'editor' },
    el('p', {}, el('label', {}, 'Taxonomy ', id), el('label', {}, 'Version ', version), load),
    el(
      'div',
      { className: 'columns' },
      el('label', {}, 'Genres, one a line', el('br'), genres),
      el('label', {}, 'Attributes, group: values', el('br'), attributes),
      el('label', {}, 'Reference items, genre | text', el('br'), references),
    ),
    el('button', { type: 'submit' }, 'Save as a new version'),
  );
  const show = (t: StoredTaxonomy, verb: string) => {
    state.dataset.version = String(t.version);
    state.textContent = `${verb} ${describe(t)}`;
  };

  load.addEventListener('click', () => {
    error.clear();
    const path = withQuery(`/v1/taxonomies/${encodeURIComponent(id.value.trim())}`, { version: version.value });
    getJson<StoredTaxonomy>(path, signal).then((t) => {
      genres.value = genresText(t.genres);
      attributes.value = attributesText(t.attributes);
      references.value = '';
      show(t, 'Loaded');
    }, error.show);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.clear();
    request<StoredTaxonomy>(`/v1/taxonomies/${encodeURIComponent(id.value.trim())}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fromText(genres.value, attributes.value, references.value)),
      signal,
    }).then((t) => {
      version.value = '';
      show(t, 'Saved');
    }, error.show);
  });
  return el(
    'section',
    { id: 'taxonomy' },
    el('h3', {}, 'Taxonomy editor'),
    el(
      'p',
      { className: 'hint' },
      'The API keeps each version’s reference items but does not serve them back: a save keeps only those listed here.',
    ),
    form,
    error.element,
    state,
  );
}
