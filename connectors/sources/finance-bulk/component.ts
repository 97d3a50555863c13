/** The finance bulk source's component spec (what `millrace help finance-bulk` prints). */
import { MILLRACE_HOME, POSTGRES_URL, UPLOAD_MAX_BYTES } from '../../../core/component-fields.ts';
import { defineComponent } from '../../../core/component-spec.ts';

/**
 * `finance-bulk`: a file of financial statements -> one record per row on finance.statements.raw. Run by the API.
 *
 * @example
 * ```sh
 * curl -s -H "authorization: Bearer $KEY" -H 'content-type: text/csv' --data-binary @statements.csv 127.0.0.1:8080/v1/predictions/bulk
 * ```
 */
export const financeBulkComponent = defineComponent({
  kind: 'source',
  name: 'finance-bulk',
  description:
    'Bulk predictions: a file of financial statements becomes one record per statement. ' +
    'The file (CSV with a header, or JSON lines) is streamed to disk under a size cap and answered at once with a job, ' +
    'then read row by row in the background: each valid row is claimed in Postgres under its deterministic id (one per tenant, company, period end and kind) and published, ' +
    'for the finance-scoring processor and the sinks to do the rest. The job counts accepted, scored and rejected rows and moves publishing -> scoring -> completed (or failed).',
  input: [],
  output: ['finance.statements.raw'],
  rejects:
    'a malformed row, a missing or invalid field, or a statement already submitted is recorded with its row number, field and reason (GET /v1/jobs/{id}/rejections); the rest go on',
  writes: ['files `$MILLRACE_HOME/finance-bulk/`', 'Postgres finance_jobs, finance_statements, finance_job_rejections'],
  runs: 'the API: POST /v1/predictions/bulk (one statement at once: POST /v1/predictions/annual|quarterly)',
  config: [
    UPLOAD_MAX_BYTES,
    { ...MILLRACE_HOME, description: 'files are kept under $MILLRACE_HOME/finance-bulk while they are read' },
    {
      ...POSTGRES_URL,
      description: 'the Postgres database: jobs, claimed statements, refused rows (and the scores the sink writes)',
    },
  ],
  example: [
    'curl -s -H "authorization: Bearer $KEY" -H \'content-type: text/csv\' --data-binary @statements.csv 127.0.0.1:8080/v1/predictions/bulk',
    'curl -s -H "authorization: Bearer $KEY" 127.0.0.1:8080/v1/jobs/<job>   # publishing|scoring|completed|failed, accepted, scored, rejected',
  ].join('\n'),
});
