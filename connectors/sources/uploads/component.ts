/** The upload source's component spec (what `millrace help uploads` prints). */
import { MILLRACE_HOME, POSTGRES_URL, UPLOAD_MAX_BYTES } from '../../../core/component-fields.ts';
import { defineComponent } from '../../../core/component-spec.ts';

/**
 * `uploads`: merchants' product files -> one record per row on catalog.rows.raw. Run by the API.
 *
 * @example
 * ```sh
 * curl -s -H "authorization: Bearer $KEY" -H 'content-type: text/csv' --data-binary @products.csv '127.0.0.1:8080/v1/uploads?filename=products.csv'
 * ```
 */
export const uploadsComponent = defineComponent({
  kind: 'source',
  name: 'uploads',
  description:
    "Turns merchants' product files into one record per row, with the columns they select. " +
    'Files (CSV of any delimiter, quoted fields, BOM, CRLF; or JSON lines) are streamed to disk under a size cap and described (columns and types inferred from a sample); processing one publishes a record per row with the selected columns and the taxonomy to classify with. ' +
    'Progress lives in Postgres, so any API instance reports it (also as server-sent events and a WebSocket); the classified rows come back as a result file.',
  input: [],
  output: ['catalog.rows.raw'],
  rejects:
    'a row that cannot be read or is too large for a record is refused and recorded with its row number and reason (GET /v1/uploads/{id}/rejections); the rest go on',
  writes: ['files `$MILLRACE_HOME/uploads/`', 'Postgres uploads, upload_rejections'],
  runs: 'the API: POST /v1/uploads, then POST /v1/uploads/{id}/process',
  config: [
    UPLOAD_MAX_BYTES,
    { ...MILLRACE_HOME, description: 'uploaded files are kept under $MILLRACE_HOME/uploads' },
    { ...POSTGRES_URL, description: 'the Postgres database: uploads, their progress and refused rows' },
  ],
  example: [
    "curl -s -H \"authorization: Bearer $KEY\" -H 'content-type: text/csv' --data-binary @products.csv '127.0.0.1:8080/v1/uploads?filename=products.csv'",
    'curl -s -H "authorization: Bearer $KEY" 127.0.0.1:8080/v1/uploads/<upload>/columns',
    'curl -s -X POST -H "authorization: Bearer $KEY" -H \'content-type: application/json\' 127.0.0.1:8080/v1/uploads/<upload>/process -d \'{"columns":["sku","title"],"taxonomy":"films"}\'',
  ].join('\n'),
});
