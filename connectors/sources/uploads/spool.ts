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
import {
  bomOf,
  charsetOf,
  charsetParameter,
  decodeHead,
  encodingName,
  Utf16Scan,
  Utf8Scan,
  utf16WithoutBom,
  type Encoding,
} from './charset.ts';

/** How much of a file tells its format, delimiter and whether it is text at all. */
export const HEAD_BYTES = 64 * 1024;

/** The error a refusal is thrown as: UploadError or a subclass with its own codes. */
export type Refusal = new (status: UploadStatus, message: string, field?: string) => UploadError;

/** What a spooled body turned out to be: its size, encoding, and its first HEAD_BYTES as text. */
export interface Spooled {
  bytes: number;
  encoding: Encoding;
  head: string;
}

/**
 * Writes `body` to `file` (its folder made first, removed on refusal), as received: 413 past
 * `maxBytes`, 415 when the first HEAD_BYTES hold a NUL byte that UTF-16 does not explain (unless
 * `binary` files are welcome: Parquet; the caller tells a binary one from text then), 400 when
 * the body breaks off, is empty, or is not valid in the `declared` encoding (naming the line and
 * byte offset). Without a declared encoding it is told from the bytes (charset.ts), all of them:
 * one Latin-1 byte deep in a file makes it Windows-1252.
 *
 * @example
 * ```ts
 * const { bytes, encoding, head } = await spoolBody(c.req.raw.body, '/data/uploads/<id>/original', { maxBytes: 200 << 20 });
 * ```
 */
export async function spoolBody(
  body: ReadableStream<Uint8Array>,
  file: string,
  {
    maxBytes,
    declared,
    Refusal = UploadError,
    binary = false,
  }: { maxBytes: number; declared?: Encoding; Refusal?: Refusal; binary?: boolean },
): Promise<Spooled> {
  await mkdir(path.dirname(file), { recursive: true });
  const discard = () => rm(path.dirname(file), { recursive: true, force: true });
  let bytes = 0;
  const headChunks: Buffer[] = [];
  let head: Buffer | undefined;
  let utf16: Encoding | undefined;
  const scan =
    declared === 'utf-16le' || declared === 'utf-16be'
      ? new Utf16Scan(declared === 'utf-16be')
      : declared === 'windows-1252'
        ? undefined // every byte is a character
        : new Utf8Scan();
  /** Once the head is known: UTF-16 (declared, by BOM or by its NULs) or no NUL byte at all. */
  const settleHead = (): Error | undefined => {
    head = Buffer.concat(headChunks);
    const bom = bomOf(head)?.encoding;
    utf16 = [declared, bom, utf16WithoutBom(head)].find((e) => e === 'utf-16le' || e === 'utf-16be');
    if (binary || (declared ?? utf16 ?? 'utf-8').startsWith('utf-16') || !head.includes(0)) return undefined;
    return new Refusal(415, 'the file is binary, not CSV or JSON lines text');
  };
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      // the first HEAD_BYTES are sniffed, however the body happens to be chunked
      if (bytes < HEAD_BYTES) headChunks.push(chunk.subarray(0, HEAD_BYTES - bytes));
      bytes += chunk.length;
      if (bytes > maxBytes) return done(new Refusal(413, `the file is larger than ${maxBytes} bytes`));
      if (!head && bytes >= HEAD_BYTES) {
        const refused = settleHead();
        if (refused) return done(refused);
      }
      scan?.push(chunk);
      done(null, chunk);
    },
    flush(done) {
      done(head ? undefined : settleHead());
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
  scan?.end();
  if (declared && scan?.firstInvalid) {
    await discard();
    const { line, offset } = scan.firstInvalid;
    throw new Refusal(
      400,
      `the file is not valid ${encodingName(declared)}, as declared: line ${line}, byte offset ${offset}`,
      'charset',
    );
  }
  const encoding =
    declared ??
    utf16 ??
    (scan instanceof Utf8Scan && scan.firstInvalid && scan.multiByte === 0 ? 'windows-1252' : 'utf-8');
  const text = decodeHead(head ?? Buffer.alloc(0), encoding);
  if (!binary && text.includes('\0')) {
    await discard(); // UTF-32, or UTF-16 with binary in it
    throw new Refusal(415, 'the file is binary, not CSV or JSON lines text');
  }
  if (bytes === 0 || text.replace(/^\uFEFF/, '').trim() === '') {
    await discard();
    throw new Refusal(400, 'the file is empty');
  }
  return { bytes, encoding, head: text };
}

/**
 * How a file arrives: the name and content type it was sent with, the charset it was declared in
 * (a `charset` parameter; else the content type's), and the cap it is received under.
 */
export interface ReceiveOptions {
  filename?: string;
  contentType?: string;
  charset?: string;
  maxBytes: number;
}

/** A file received as a request body: its size, encoding, first bytes, format and (CSV) delimiter. */
export interface ReceivedFile {
  bytes: number;
  encoding: Encoding;
  head: string;
  format: Format;
  /** null for JSON lines */
  delimiter: string | null;
}

/**
 * Receives a file sent as the request body itself: 400 without a body or with a charset that is
 * unknown or not one of ours, 415 for a multipart form, then spools it to `file` (spoolBody) and
 * tells its format, from the content type or its first bytes, and a CSV's delimiter.
 *
 * @example
 * ```ts
 * const { bytes, format, delimiter } = await receiveFile(c.req.raw.body, file, { contentType, maxBytes });
 * ```
 */
export async function receiveFile(
  body: ReadableStream<Uint8Array> | null,
  file: string,
  { contentType, charset, maxBytes, Refusal = UploadError }: ReceiveOptions & { Refusal?: Refusal },
): Promise<ReceivedFile> {
  if (!body) throw new Refusal(400, 'the request has no body: send the file as the body');
  refuseMultipart(contentType, Refusal);
  const label = charset ?? charsetParameter(contentType);
  const declared = label === undefined ? undefined : charsetOf(label);
  if (typeof declared === 'object') throw new Refusal(400, declared.problem, 'charset');
  const { bytes, encoding, head } = await spoolBody(body, file, { maxBytes, declared, Refusal });
  const format = detectFormat(head, contentType);
  return { bytes, encoding, head, format, delimiter: format === 'csv' ? detectDelimiter(head) : null };
}
