/**
 * Schemas: each topic's value subject with its compatibility level and versions; a click on a
 * version shows its fields (name, type, doc).
 */
import { getJson } from '../lib/api.ts';
import { fieldsOf, typeText } from '../lib/avro.ts';
import { el, errorLine } from '../lib/dom.ts';
import type { Page } from './page.ts';

interface Version {
  version: number;
  id: number;
  schema: unknown;
}

interface Subject {
  topic: string;
  subject: string;
  compatibility: string | null;
  versions: Version[];
}

const COLUMNS = ['topic', 'subject', 'compatibility', 'versions'];

/** A version's record name, doc and fields. */
function versionDetails(subject: Subject, v: Version): HTMLElement[] {
  const { name, doc } = (v.schema ?? {}) as { name?: string; doc?: string };
  return [
    el('h3', {}, `${subject.subject} version ${v.version} (schema id ${v.id})`),
    el('p', { className: 'hint' }, `${name ?? typeText(v.schema)}${doc ? `: ${doc}` : ''}`),
    el(
      'table',
      { id: 'schema-fields' },
      el('thead', {}, el('tr', {}, el('th', {}, 'field'), el('th', {}, 'type'), el('th', {}, 'doc'))),
      el(
        'tbody',
        {},
        ...fieldsOf(v.schema).map((f) =>
          el(
            'tr',
            { dataset: { field: f.name } },
            el('td', {}, f.name),
            el('td', { className: 'type' }, typeText(f.type)),
            el('td', {}, f.doc ?? ''),
          ),
        ),
      ),
    ),
  ];
}

export const schemas: Page = {
  path: 'schemas',
  title: 'Schemas',
  mount(root, signal) {
    const error = errorLine();
    const body = el('tbody', { id: 'schema-rows' });
    const detail = el('section', { id: 'schema-detail' });
    root.append(
      el('h2', {}, 'Schemas'),
      error.element,
      el('table', { id: 'schema-table' }, el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', {}, c)))), body),
      detail,
    );

    const row = (subject: Subject) => {
      const versions = subject.versions.map((v) => {
        const pick = el(
          'button',
          { type: 'button', className: 'link', dataset: { version: String(v.version) } },
          `v${v.version}`,
        );
        pick.addEventListener('click', () => detail.replaceChildren(...versionDetails(subject, v)));
        return pick;
      });
      return el(
        'tr',
        { dataset: { topic: subject.topic } },
        el('td', {}, subject.topic),
        el('td', {}, subject.subject),
        el('td', {}, subject.compatibility ?? '—'),
        el('td', { className: 'versions' }, ...(versions.length ? versions : ['none'])),
      );
    };

    getJson<{ subjects: Subject[] }>('/v1/schemas', signal)
      .then(({ subjects }) => body.replaceChildren(...subjects.map(row)))
      .catch((e: unknown) => error.show(e));
  },
};
