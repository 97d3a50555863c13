/**
 * Finance: scores as they are produced, from the scores topic's stream (on a drop the page
 * reconnects after 3 s from the record after the last one it showed); the companies with their
 * score histories (finance-companies.ts); bulk jobs (finance-jobs.ts).
 */
import { withQuery } from '../lib/api.ts';
import { el } from '../lib/dom.ts';
import { readEvents } from '../lib/sse.ts';
import { companiesSection } from './finance-companies.ts';
import { bulkJobsSection } from './finance-jobs.ts';
import type { Page } from './page.ts';

const SCORES_TOPIC = 'finance.statements.scored';
const MAX_ROWS = 50;
const RETRY_MS = 3000;

interface Score {
  id: string;
  company_id: string;
  period: number | string;
  kind: string;
  probability: number;
  category: string;
}

// Avro dates may arrive as days since the epoch or as an ISO string
const dateText = (value: number | string): string =>
  typeof value === 'number' ? new Date(value * 86_400_000).toISOString().slice(0, 10) : value.slice(0, 10);

function scoreRow(score: Score): HTMLTableRowElement {
  return el(
    'tr',
    { dataset: { id: score.id } },
    el('td', {}, new Date().toLocaleTimeString()),
    el('td', {}, score.company_id),
    el('td', {}, dateText(score.period)),
    el('td', {}, score.kind),
    el('td', {}, Number(score.probability).toFixed(4)),
    el('td', { className: score.category }, score.category),
  );
}

export const finance: Page = {
  path: 'finance',
  title: 'Finance',
  mount(root, signal) {
    const state = el('span', { id: 'stream-state', className: 'state', dataset: { state: 'idle' } }, 'idle');
    const body = el('tbody', { id: 'scores' });
    const head = ['received', 'company', 'period end', 'kind', 'probability', 'category'];
    root.append(
      el('h2', {}, 'Finance scores, live ', state),
      el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), body),
      companiesSection(signal),
      bulkJobsSection(signal),
    );
    const setState = (value: string, title = '') => {
      state.dataset.state = value;
      state.textContent = value;
      state.title = title;
    };
    const next = new Map<string, bigint>(); // partition -> offset to resume at
    const connect = async () => {
      const from = next.size > 0 ? [...next].map(([p, o]) => `${p}:${o}`).join(',') : 'now';
      setState('connecting');
      let reason = 'the stream ended';
      try {
        await readEvents(withQuery(`/v1/streams/${SCORES_TOPIC}`, { from }), signal, (event) => {
          if (event.event === 'ready') setState('live');
          if (event.event !== 'record' || !event.id) return;
          const [partition, offset] = event.id.split(':') as [string, string];
          next.set(partition, BigInt(offset) + 1n);
          body.prepend(scoreRow(JSON.parse(event.data) as Score));
          while (body.rows.length > MAX_ROWS) body.lastElementChild?.remove();
        });
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      if (signal.aborted) return;
      setState('retrying', reason);
      setTimeout(() => void connect(), RETRY_MS);
    };
    void connect();
  },
};
