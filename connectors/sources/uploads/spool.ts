/**
 * Receiving a file sent as a request body, as uploads and bulk predictions do: spooled to disk
 * under a size cap, the first bytes kept to tell the format; a missing or multipart body, or one
 * past the cap, binary, interrupted or empty, is refused (and its folder removed).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { detectDelimiter, detectFormat, type Format } from './file-shape.ts';
import { refuseMultipart, UploadError, type UploadStatus } from './upload-error.ts';

/** How much of a file tells its format, delimiter and whether it is text at all. */
export const HEAD_BYTES = 64 * 1024;

/** The error a refusal is thrown as: UploadError or a subclass with its own codes. */
export type Refusal = new (status: UploadStatus, message: string) => UploadError;

/**
 * Writes `body` to `file` (its folder made first, removed on refusal): 413 past `maxBytes`, 415
 * when the first HEAD_BYTES hold a NUL byte, 400 when the body breaks off or is empty. Returns the
 * byte count and the first HEAD_BYTES as text.
 *
 * @example
 * ```ts
 * const { bytes, head } = await spoolBody(c.req.raw.body, '/data/uploads/<id>/original', { maxBytes: 200 << 20 });
 * ```
 */
export async function spoolBody(
  body: ReadableStream<Uint8Array>,
  file: string,
  { maxBytes, Refusal = UploadError }: { maxBytes: number; Refusal?: Refusal },
): Promise<{ bytes: number; head: string }> {
  await mkdir(path.dirname(file), { recursive: true });
  const discard = () => rm(path.dirname(file), { recursive: true, force: true });
  let bytes = 0;
  let head = '';
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      // the first HEAD_BYTES are sniffed, however the body happens to be chunked
      const sniffed = bytes < HEAD_BYTES ? chunk.subarray(0, HEAD_BYTES - bytes) : undefined;
      bytes += chunk.length;
      if (bytes > maxBytes) return done(new Refusal(413, `the file is larger than ${maxBytes} bytes`));
      if (sniffed) {
        if (sniffed.includes(0)) return done(new Refusal(415, 'the file is binary, not CSV or JSON lines text'));
        head += sniffed.toString('utf8');
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>),
      guard,
      createWriteStream(file),
    );
  } catch (error) {
    await discard();
    throw error instanceof UploadError
      ? error
      : new Refusal(400, `the upload was interrupted: ${(error as Error).message}`);
  }
  if (bytes === 0 || head.replace(/^\uFEFF/, '').trim() === '') {
    await discard();
    throw new Refusal(400, 'the file is empty');
  }
  return { bytes, head };
}

/** How a file arrives: the name and content type it was sent with, and the cap it is received under. */
export interface ReceiveOptions {
  filename?: string;
  contentType?: string;
  maxBytes: number;
}

/** A file received as a request body: where it is on disk, its size, first bytes, format and (CSV) delimiter. */
export interface ReceivedFile {
  bytes: number;
  head: string;
  format: Format;
  /** null for JSON lines */
  delimiter: string | null;
}

/**
 * Receives a file sent as the request body itself: 400 without a body, 415 for a multipart form,
 * then spools it to `file` (spoolBody) and tells its format, from the content type or its first
 * bytes, and a CSV's delimiter.
 *
 * @example
 * ```ts
 * const { bytes, format, delimiter } = await receiveFile(c.req.raw.body, file, { contentType, maxBytes });
 * ```
 */
export async function receiveFile(
  body: ReadableStream<Uint8Array> | null,
  file: string,
  { contentType, maxBytes, Refusal = UploadError }: ReceiveOptions & { Refusal?: Refusal },
): Promise<ReceivedFile> {
  if (!body) throw new Refusal(400, 'the request has no body: send the file as the body');
  refuseMultipart(contentType, Refusal);
  const { bytes, head } = await spoolBody(body, file, { maxBytes, Refusal });
  const format = detectFormat(head, contentType);
  return { bytes, head, format, delimiter: format === 'csv' ? detectDelimiter(head) : null };
}
