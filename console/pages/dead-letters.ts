/**
 * Dead letters: a topic's DLQ records with their error, origin, headers and payload (decoded, or
 * hex), filtered by time, error class and source partition; selected ones redriven to the topic
 * they came from, each at most once, and who redrove them when.
 */
import { getJson, postJson, withQuery } from '../lib/api.ts';
import { el, errorLine, isoSecond } from '../lib/dom.ts';
import { can } from '../lib/me.ts';
import { recordDetails, type Payload } from '../lib/records.ts';
import type { Page } from './page.ts';

interface DlqTopic {
  topic: string;
  dlq: string;
  records?: number;
}

interface Redrive {
  by: string;
  at: string;
  target: { topic: string; partition: number; offset: string };
}

interface DeadLetter {
  id: string;
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  error: { class: string; message: string; stage: string };
  source: { topic: string; partition: number; offset: string };
  tenant_id: string | null;
  payload: Payload;
  redrive: Redrive | null;
}

interface DeadLetterPage {
  dead_letters: DeadLetter[];
  next_cursor: string | null;
  scanned: number;
}

interface RedriveResult {
  redriven: { id: string; target: Redrive['target'] }[];
  skipped: { id: string; reason: string }[];
  more: boolean;
}

const PAGE_SIZE = 100;
const COLUMNS = ['', 'id', 'written', 'error class', 'message', 'stage', 'source', 'tenant', 'redriven'];

const redriveText = (r: Redrive | null): string =>
  r ? `by ${r.by} at ${isoSecond(r.at)} → ${r.target.topic} ${r.target.partition}:${r.target.offset}` : '—';

/** What a dead letter holds beyond its row: every header and the payload. */
function details(letter: DeadLetter): HTMLTableRowElement {
  const cell = el('td', { colSpan: COLUMNS.length }, ...recordDetails(letter.headers, letter.payload));
  return el('tr', { className: 'detail', hidden: true, dataset: { detailOf: letter.id } }, cell);
}

/** A dead letter's row (with a box to pick it for redrive when the key may redrive) and its details. */
function rows(letter: DeadLetter, mayRedrive: boolean): HTMLTableRowElement[] {
  const pick = el('input', {
    type: 'checkbox',
    value: letter.id,
    disabled: letter.redrive !== null,
    title: 'select for redrive',
  });
  const row = el(
    'tr',
    { className: 'letter', dataset: { id: letter.id } },
    el('td', {}, mayRedrive && pick),
    el('td', {}, letter.id),
    el('td', {}, isoSecond(letter.timestamp)),
    el('td', {}, letter.error.class),
    el('td', { className: 'message' }, letter.error.message),
    el('td', {}, letter.error.stage),
    el('td', {}, `${letter.source.topic} ${letter.source.partition}:${letter.source.offset}`),
    el('td', {}, letter.tenant_id ?? '—'),
    el('td', { className: 'redrive' }, redriveText(letter.redrive)),
  );
  const more = details(letter);
  row.addEventListener('click', (event) => {
    if (event.target !== pick) more.hidden = !more.hidden;
  });
  return [row, more];
}

/** A `datetime-local` value as epoch ms, or undefined when empty. */
const timeOf = (input: HTMLInputElement): number | undefined => (input.value ? Date.parse(input.value) : undefined);

export const deadLetters: Page = {
  path: 'dead-letters',
  title: 'Dead letters',
  mount(root, signal, me) {
    // a tenant redrives by producing its records again, an operator anyone's
    const mayRedrive = can(me, 'ingest', 'operate');
    const topic = el('select', { id: 'dl-topic' });
    const since = el('input', { id: 'dl-since', type: 'datetime-local', step: '1' });
    const until = el('input', { id: 'dl-until', type: 'datetime-local', step: '1' });
    const errorClass = el('input', { id: 'dl-error-class', placeholder: 'e.g. RecordInvalidError' });
    const partition = el('input', { id: 'dl-partition', type: 'number', min: '0' });
    const form = el(
      'form',
      { id: 'dl-filter' },
      el('label', {}, 'Topic ', topic),
      el('label', {}, 'Since ', since),
      el('label', {}, 'Until ', until),
      el('label', {}, 'Error class ', errorClass),
      el('label', {}, 'Source partition ', partition),
      el('button', { type: 'submit' }, 'Show'),
    );
    const error = errorLine();
    const summary = el('p', { id: 'dl-summary' });
    const body = el('tbody', { id: 'dl-rows' });
    const table = el(
      'table',
      { id: 'dl-table' },
      el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', {}, c)))),
      body,
    );
    const more = el('button', { id: 'dl-more', type: 'button', hidden: true }, 'Load more');
    const redrive = el(
      'button',
      { id: 'dl-redrive', type: 'button', disabled: true, hidden: !mayRedrive },
      'Redrive selected',
    );
    const result = el('p', { id: 'dl-result' });
    root.append(
      el('h2', {}, 'Dead letters'),
      form,
      error.element,
      summary,
      table,
      el('p', {}, more, ' ', redrive),
      result,
    );

    let cursor: string | null = null;
    let shown = 0;
    const selected = () =>
      [...body.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((c) => c.value);
    const pickable = () => {
      const n = selected().length;
      redrive.disabled = n === 0;
      redrive.textContent = n > 0 ? `Redrive selected (${n})` : 'Redrive selected';
    };
    const filter = () => ({
      since: timeOf(since),
      until: timeOf(until),
      error_class: errorClass.value.trim() || undefined,
      source_partition: partition.value || undefined,
    });

    const load = async (fresh: boolean) => {
      error.clear();
      try {
        const page = await getJson<DeadLetterPage>(
          withQuery(`/v1/dead-letters/${encodeURIComponent(topic.value)}`, {
            ...filter(),
            cursor: fresh ? undefined : (cursor ?? undefined),
            limit: PAGE_SIZE,
          }),
          signal,
        );
        if (fresh) [body.textContent, shown] = ['', 0];
        body.append(...page.dead_letters.flatMap((letter) => rows(letter, mayRedrive)));
        shown += page.dead_letters.length;
        cursor = page.next_cursor;
        more.hidden = cursor === null;
        summary.textContent = `${shown} dead letter${shown === 1 ? '' : 's'}${cursor ? ', more to load' : ''}`;
        pickable();
      } catch (e) {
        if (!signal.aborted) error.show(e);
      }
    };

    body.addEventListener('change', pickable);
    redrive.addEventListener('click', async () => {
      redrive.disabled = true;
      try {
        const answer = await postJson<RedriveResult>(
          `/v1/dead-letters/${encodeURIComponent(topic.value)}/redrive`,
          { ids: selected() },
          signal,
        );
        const sent = answer.redriven.map((r) => `${r.id} → ${r.target.topic} ${r.target.partition}:${r.target.offset}`);
        const skipped = answer.skipped.map((s) => `${s.id} (${s.reason.replace('_', ' ')})`);
        result.textContent = `Redriven ${answer.redriven.length}${sent.length ? `: ${sent.join(', ')}` : ''}${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}`;
        await load(true);
      } catch (e) {
        error.show(e);
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      result.textContent = '';
      void load(true);
    });
    more.addEventListener('click', () => void load(false));

    getJson<{ topics: DlqTopic[] }>('/v1/dead-letters', signal)
      .then(({ topics }) => {
        topic.replaceChildren(
          ...topics.map((t) => new Option(t.records === undefined ? t.topic : `${t.topic} (${t.records})`, t.topic)),
        );
        topic.addEventListener('change', () => void load(true));
        return load(true);
      })
      .catch((e: unknown) => error.show(e));
  },
};
