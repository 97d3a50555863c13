/**
 * Topics: a topic's records, decoded, from the newest, the oldest, a time, or a partition's offset,
 * optionally only one key, a page at a time; a click on a record shows its headers and payload.
 * A tenant sees its own records; an operator, every one.
 */
import { getJson, withQuery } from '../lib/api.ts';
import { el, errorLine, isoSecond, options } from '../lib/dom.ts';
import { recordDetails, type Payload } from '../lib/records.ts';
import type { Page } from './page.ts';

interface TopicRecord {
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  payload: Payload;
}

interface RecordPage {
  records: TopicRecord[];
  next_cursor: string | null;
  scanned: number;
}

const COLUMNS = ['partition', 'offset', 'written', 'key', 'payload'];
const SUMMARY_CHARS = 120;

/** The payload in one line, cut short: the row's glimpse of it. */
function glimpse(payload: Payload): string {
  const text = payload.encoding === 'avro' ? JSON.stringify(payload.value) : `hex ${payload.hex}`;
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS)}…` : text;
}

function rows(record: TopicRecord): HTMLTableRowElement[] {
  const at = `${record.partition}:${record.offset}`;
  const row = el(
    'tr',
    { className: 'record', dataset: { at } },
    el('td', {}, record.partition),
    el('td', {}, record.offset),
    el('td', {}, isoSecond(record.timestamp)),
    el('td', {}, record.key ?? '—'),
    el('td', { className: 'glimpse' }, glimpse(record.payload)),
  );
  const more = el(
    'tr',
    { className: 'detail', hidden: true, dataset: { detailOf: at } },
    el('td', { colSpan: COLUMNS.length }, ...recordDetails(record.headers, record.payload)),
  );
  row.addEventListener('click', () => (more.hidden = !more.hidden));
  return [row, more];
}

export const topics: Page = {
  path: 'topics',
  title: 'Topics',
  mount(root, signal) {
    const topic = el('select', { id: 'tp-topic' });
    const from = el('select', { id: 'tp-from' });
    options(from, ['newest', 'oldest', 'time', 'offset']);
    const time = el('input', { id: 'tp-time', type: 'datetime-local', step: '1' });
    const partition = el('input', { id: 'tp-partition', type: 'number', min: '0', placeholder: 'all' });
    const offset = el('input', { id: 'tp-offset', type: 'number', min: '0' });
    const key = el('input', { id: 'tp-key', placeholder: 'any' });
    const limit = el('input', { id: 'tp-limit', type: 'number', min: '1', max: '500', value: '50' });
    const [timeLabel, offsetLabel] = [el('label', {}, 'Time ', time), el('label', {}, 'Offset ', offset)];
    const form = el(
      'form',
      { id: 'tp-form' },
      el('label', {}, 'Topic ', topic),
      el('label', {}, 'From ', from),
      timeLabel,
      el('label', {}, 'Partition ', partition),
      offsetLabel,
      el('label', {}, 'Key ', key),
      el('label', {}, 'Page of ', limit),
      el('button', { type: 'submit' }, 'Browse'),
    );
    const error = errorLine();
    const summary = el('p', { id: 'tp-summary' });
    const body = el('tbody', { id: 'tp-rows' });
    const more = el('button', { id: 'tp-more', type: 'button', hidden: true }, 'Load more');
    root.append(
      el('h2', {}, 'Topics'),
      form,
      error.element,
      summary,
      el('table', { id: 'tp-table' }, el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', {}, c)))), body),
      el('p', {}, more),
    );

    const onFrom = () => {
      timeLabel.hidden = from.value !== 'time';
      offsetLabel.hidden = from.value !== 'offset';
      partition.required = offset.required = from.value === 'offset';
      time.required = from.value === 'time';
    };
    /** `from` as the API takes it: newest, oldest, an ISO time, or an offset (with the partition) */
    const position = (): string => {
      if (from.value === 'time') return new Date(time.value).toISOString();
      return from.value === 'offset' ? offset.value : from.value;
    };

    let [cursor, shown, scanned] = [null as string | null, 0, 0];
    // a browse started makes any answer still on its way stale; answers are counted (data-loads) for tests
    let [browse, loads] = [0, 0];
    const load = async (fresh: boolean) => {
      error.clear();
      const mine = fresh ? ++browse : browse;
      try {
        const page = await getJson<RecordPage>(
          withQuery(`/v1/topics/${encodeURIComponent(topic.value)}/browse`, {
            from: position(),
            partition: partition.value || undefined,
            key: key.value || undefined,
            cursor: fresh ? undefined : (cursor ?? undefined),
            limit: limit.value || undefined,
          }),
          signal,
        );
        if (mine !== browse) return;
        if (fresh) [body.textContent, shown, scanned] = ['', 0, 0];
        body.append(...page.records.flatMap(rows));
        [shown, scanned, cursor] = [shown + page.records.length, scanned + page.scanned, page.next_cursor];
        more.hidden = cursor === null;
        summary.textContent = `${shown} record${shown === 1 ? '' : 's'} of ${scanned} read${cursor ? ', more to load' : ''}`;
        summary.dataset.loads = String(++loads);
      } catch (e) {
        if (!signal.aborted && mine === browse) error.show(e);
      }
    };

    from.addEventListener('change', onFrom);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void load(true);
    });
    more.addEventListener('click', () => void load(false));
    onFrom();
    // every topic the API knows has a value schema: the schema list names them all
    getJson<{ subjects: { topic: string }[] }>('/v1/schemas', signal)
      .then(({ subjects }) => {
        options(
          topic,
          subjects.map((s) => s.topic),
        );
        topic.addEventListener('change', () => void load(true));
        return load(true);
      })
      .catch((e: unknown) => error.show(e));
  },
};
