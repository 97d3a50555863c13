/** How an upload is refused: the status, the code an answer names, and the multipart check every file route makes. */
import { MillraceError } from '../../../core/errors.ts';

export type UploadStatus = 400 | 404 | 409 | 413 | 415;

/** The code of each status in an answer (a body over the API's own limit is payload_too_large too). */
const UPLOAD_CODES: Record<UploadStatus, string> = {
  400: 'invalid_upload',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'invalid_upload',
};

export class UploadError extends MillraceError {
  override name = 'UploadError';
  constructor(
    override readonly status: UploadStatus,
    message: string,
    readonly field?: string,
    code = UPLOAD_CODES[status],
  ) {
    super(message, { code, status, details: field === undefined ? undefined : { field } });
  }
}

/** A file must be the body itself: a multipart form around it would be read as rows. */
export function refuseMultipart(
  contentType = '',
  Refusal: new (status: 415, message: string) => UploadError = UploadError,
): void {
  if (/^multipart\//i.test(contentType))
    throw new Refusal(415, 'send the file itself as the body (text/csv or application/x-ndjson), not a multipart form');
}
