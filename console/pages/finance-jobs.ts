/**
 * Finance bulk jobs: send a file of statements (CSV or JSON lines) and watch each job of this tab
 * through publishing and scoring to completed, with its counts and its first refused rows. The API
 * lists no jobs, so the tab remembers the ids it sent or opened.
 */
import { authHeaders, failure, getJson, withQuery } from '../lib/api.ts';
import { el, errorLine, isoSecond } from '../lib/dom.ts';
import { recent, remember } from '../lib/recent.ts';
import { dataTable, row } from '../lib/table.ts';

interface Job {
  id: string;
  state: string;
  filename: string | null;
  rows_read: number;
  total_rows: number | null;
  accepted: number;
  scored: number;
  rejected: number;
  rejections: { row_number: number; field: string | null; reason: string }[];
  error: string | null;
  created_at: string;
}

const KIND = 'bulk-jobs';
const POLL_MS = 2000;
const ENDED = new Set(['completed', 'failed']);

async function send(file: File, signal: AbortSignal): Promise<Job> {
  const type = /\.jsonl?$|\.ndjson$/i.test(file.name) ? 'application/x-ndjson' : 'text/csv';
  const response = await fetch(withQuery('/v1/predictions/bulk', { filename: file.name }), {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': type },
    body: file,
    signal,
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as Job;
}

export function bulkJobsSection(signal: AbortSignal): HTMLElement {
  const error = errorLine();
  const file = el('input', { id: 'bulk-file', type: 'file', accept: '.csv,.jsonl,.ndjson,text/csv', required: true });
  const form = el(
    'form',
    { id: 'bulk-form' },
    el('label', {}, 'Statements file ', file),
    el('button', { type: 'submit' }, 'Score in bulk'),
  );
  const jobId = el('input', { id: 'bulk-job-id', size: 38, required: true });
  const open = el(
    'form',
    { id: 'bulk-open' },
    el('label', {}, 'Job id ', jobId),
    el('button', { type: 'submit' }, 'Open'),
  );
  const jobs = dataTable('bulk-jobs', [
    'job',
    'file',
    'state',
    'rows read',
    'accepted',
    'scored',
    'rejected',
    'created',
  ]);
  const rejectionsTitle = el('h4', { id: 'rejections-title' });
  const rejections = dataTable('bulk-rejections', ['row', 'field', 'reason']);
  const refused = el('section', { id: 'bulk-refused', hidden: true }, rejectionsTitle, rejections.table);
  const known = new Map<string, Job>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  signal.addEventListener('abort', () => clearTimeout(timer));

  const showRejections = (job: Job) => {
    refused.hidden = false;
    rejectionsTitle.textContent = `Refused rows of ${job.filename ?? job.id} (${job.rejected}; the first ${job.rejections.length})`;
    rejections.body.replaceChildren(...job.rejections.map((r) => row([r.row_number, r.field, r.reason])));
  };
  const render = () =>
    jobs.body.replaceChildren(
      ...recent(KIND).flatMap((id) => {
        const job = known.get(id);
        if (!job) return [];
        const link = el(
          'button',
          { type: 'button', className: 'link', onclick: () => showRejections(job) },
          id.slice(0, 8),
        );
        const state = el('span', { className: 'state', dataset: { state: job.state } }, job.state);
        if (job.error) state.title = job.error;
        return [
          row(
            [
              link,
              job.filename,
              state,
              `${job.rows_read} of ${job.total_rows ?? '?'}`,
              job.accepted,
              job.scored,
              job.rejected,
              isoSecond(job.created_at),
            ],
            { id, state: job.state },
          ),
        ];
      }),
    );
  // every remembered job still running, again until all have ended
  const unreadable = new Set<string>(); // another key's, say: not asked again
  const pending = () => recent(KIND).filter((id) => !unreadable.has(id) && !ENDED.has(known.get(id)?.state ?? ''));
  const poll = async () => {
    clearTimeout(timer);
    const ids = pending();
    const answers = await Promise.allSettled(
      ids.map((id) => getJson<Job>(`/v1/jobs/${encodeURIComponent(id)}`, signal)),
    );
    answers.forEach((answer, i) => {
      if (answer.status === 'fulfilled') known.set(answer.value.id, answer.value);
      else unreadable.add(ids[i]!);
    });
    render();
    clearTimeout(timer); // one timer, however many polls overlapped
    if (!signal.aborted && pending().length > 0) timer = setTimeout(() => void poll(), POLL_MS);
  };
  const track = (job: Job) => {
    known.set(job.id, job);
    remember(KIND, job.id);
    void poll().catch(error.show);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.clear();
    const chosen = file.files?.[0];
    if (chosen) send(chosen, signal).then(track, error.show);
  });
  open.addEventListener('submit', (event) => {
    event.preventDefault();
    error.clear();
    getJson<Job>(`/v1/jobs/${encodeURIComponent(jobId.value.trim())}`, signal).then(track, error.show);
  });
  void poll().catch(error.show);
  return el(
    'section',
    { id: 'finance-bulk' },
    el('h3', {}, 'Bulk jobs'),
    form,
    open,
    error.element,
    jobs.table,
    refused,
  );
}
