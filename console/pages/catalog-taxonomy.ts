/**
 * The taxonomy editor of the Catalog page: load a taxonomy (latest or a version), edit its genres,
 * attribute values and reference items as text (lib/taxonomy-text.ts) and the genre model it
 * classifies with (empty: the platform's), save it as its next version.
 * The loaded version's reference items are kept (fetched whole, not shown as text, so none is
 * rewritten) unless unticked; the items typed are added to them.
 */
import { getJson, request, withQuery } from '../lib/api.ts';
import { el, errorLine } from '../lib/dom.ts';
import { attributesText, fromText, genresText, type TaxonomyInput } from '../lib/taxonomy-text.ts';

interface StoredTaxonomy {
  id: string;
  version: number;
  genres: string[];
  attributes: Record<string, string[]>;
  references: number;
  model: string;
}

const describe = (t: StoredTaxonomy) =>
  `${t.id} version ${t.version}: ${t.genres.length} genres, ${Object.keys(t.attributes).length} attribute groups, ${t.references} reference items, genre model ${t.model}`;

export function taxonomySection(signal: AbortSignal): HTMLElement {
  const error = errorLine();
  const id = el('input', { id: 'tax-id', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}', placeholder: 'films' });
  const version = el('input', { id: 'tax-version', type: 'number', min: '1', placeholder: 'latest' });
  const load = el('button', { type: 'button', id: 'tax-load' }, 'Load');
  const genres = el('textarea', { id: 'tax-genres', rows: 6, cols: 30 });
  const attributes = el('textarea', { id: 'tax-attributes', rows: 6, cols: 40, placeholder: 'mood: dark, light' });
  const references = el('textarea', { id: 'tax-references', rows: 6, cols: 50, placeholder: 'Drama | Heat (1995)' });
  const model = el('input', { id: 'tax-model', size: 30, placeholder: 'catalog-genre' });
  const keep = el('input', { type: 'checkbox', id: 'tax-keep', checked: true });
  const keepLabel = el('span', { id: 'tax-keep-label' }, 'no reference items loaded');
  /** the reference items of the version last loaded or saved: kept by the next save while ticked */
  let kept: TaxonomyInput['references'] = [];
  const keeping = (items: TaxonomyInput['references'], of: string) => {
    kept = items;
    keep.dataset.items = String(items.length);
    keepLabel.textContent = `keep the ${items.length} reference items of ${of}`;
  };
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
      el('label', {}, 'Reference items to add, genre | text', el('br'), references),
    ),
    el('p', {}, el('label', {}, 'Genre model ', model)),
    el('p', {}, el('label', {}, keep, ' ', keepLabel)),
    el('button', { type: 'submit' }, 'Save as a new version'),
  );
  const show = (t: StoredTaxonomy, verb: string) => {
    state.dataset.version = String(t.version);
    state.textContent = `${verb} ${describe(t)}`;
  };

  load.addEventListener('click', () => {
    error.clear();
    const path = `/v1/taxonomies/${encodeURIComponent(id.value.trim())}`;
    const query = { version: version.value };
    Promise.all([
      getJson<StoredTaxonomy>(withQuery(path, query), signal),
      getJson<{ references: TaxonomyInput['references'] }>(withQuery(`${path}/references`, query), signal),
    ]).then(([t, { references: items }]) => {
      genres.value = genresText(t.genres);
      attributes.value = attributesText(t.attributes);
      references.value = '';
      model.value = t.model;
      keeping(items, `version ${t.version}`);
      show(t, 'Loaded');
    }, error.show);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.clear();
    const input = fromText(genres.value, attributes.value, references.value);
    const named = model.value.trim();
    const body = {
      ...input,
      references: [...(keep.checked ? kept : []), ...input.references],
      ...(named ? { model: named } : {}),
    };
    request<StoredTaxonomy>(`/v1/taxonomies/${encodeURIComponent(id.value.trim())}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    }).then((t) => {
      version.value = '';
      references.value = '';
      keeping(body.references, `version ${t.version}`);
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
      'A save keeps the reference items of the version loaded (or last saved) unless unticked, and adds those typed.',
    ),
    form,
    error.element,
    state,
  );
}
