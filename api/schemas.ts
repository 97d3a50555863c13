/** Shared request and response schemas: they validate requests and generate /openapi.json. */
import { z } from '@hono/zod-openapi';
import { ROLES, TENANT_ROLES } from './auth/roles.ts';
import { ENCODINGS } from '../connectors/sources/uploads/charset.ts';

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: 'invalid_request' }),
    message: z.string(),
    field: z.string().optional(),
    request_id: z.string(),
  })
  .openapi('Error');

/** A status the API answers with an `Error` body. */
export type ErrorStatus = keyof typeof DESCRIPTIONS;

export const errorResponses = (...statuses: ErrorStatus[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: DESCRIPTIONS[s], content: { 'application/json': { schema: ErrorSchema } } },
    ]),
  );

const DESCRIPTIONS = {
  400: 'the request is invalid; `field` names the culprit',
  401: 'missing, invalid, expired or revoked credentials',
  403: "the caller's role may not do this",
  404: 'no such resource for this tenant',
  409: 'conflicts with an existing resource, or a request with the same Idempotency-Key is still running (see Retry-After)',
  413: 'the body is larger than the limit',
  422: 'well-formed, but what it holds is refused (`message` says why), or an Idempotency-Key first used for another request (another body or route)',
  429: "rate limited, or the tenant's dashboard queries are at their share (too_many_queries); see Retry-After",
  503: 'the work would take too long now; see Retry-After',
} as const;

/** An Idempotency-Key: 1 to 255 printable ASCII characters (api/idempotency.ts). */
export const IDEMPOTENCY_KEY_FORMAT = /^[\x20-\x7e]{1,255}$/;

/** The optional Idempotency-Key request header of a POST or PUT (api/idempotency.ts). */
export const IdempotencyKeyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(IDEMPOTENCY_KEY_FORMAT, '1 to 255 printable ASCII characters')
    .optional()
    .openapi({
      description:
        'Safe retries: a repeat with the same key and body within 24 hours answers what the first request answered (header `Idempotent-Replayed: true`) and does nothing; the same key with another body or route is a 422, while the first still runs a 409. Keys are per tenant.',
      example: '5f0c8a4e-2b1d-4d0e-9c6f-3a7b9e1d2c40',
    }),
});

export const RoleSchema = z.enum(ROLES);
/** The roles an admin may grant over HTTP (never `operator`). */
export const TenantRoleSchema = z.enum(TENANT_ROLES);

export const TokensSchema = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
  })
  .openapi('Tokens');

export const bearer = [{ Bearer: [] }];

const isPlainFileName = (name: string) =>
  name !== '.' && name !== '..' && ![...name].some((ch) => ch === '/' || ch === '\\' || ch < ' ' || ch === '\u007f');

/** An uploaded file's name: only recorded (files are stored under their id), but shown and sent back, so no paths, no control characters. */
export const FileNameSchema = z
  .string()
  .max(255)
  .refine(isPlainFileName, 'a plain file name: no path, no control characters');

/** A JSON response of `schema`, described. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A response whose body is text of one media type (an event stream, CSV, JSON lines), described. */
export const text = <M extends string>(mediaType: M, description: string) => ({
  description,
  content: { [mediaType]: { schema: z.string() } } as Record<M, { schema: z.ZodString }>,
});

/** A required JSON request body of `schema`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

/** The text encoding a file was read in. */
export const EncodingSchema = z.enum(ENCODINGS as [string, ...string[]]).openapi({
  description:
    'the text encoding the file was read in: its declared charset, else its BOM, else detected (UTF-16 by its NUL bytes, valid UTF-8, otherwise windows-1252)',
});

/**
 * A file streamed as the request body (CSV or JSON lines), with the name it may be recorded under
 * and the charset it is in (else the content type's charset parameter, else detected).
 */
export const FileBodyRequest = {
  query: z.object({
    filename: FileNameSchema.optional(),
    charset: z.string().max(64).optional().openapi({
      description:
        "the text encoding of the file: utf-8, utf-16le, utf-16be, utf-16 (little-endian), windows-1252, iso-8859-1 or latin1; wins over the content type's charset; without either it is detected",
      example: 'windows-1252',
    }),
  }),
  body: {
    required: true,
    content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
  },
};

/** A page of refused rows: those after a row number, at most `limit`. */
export const RejectionsPageQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A keyset page of a list, newest first (core/keyset-pages.ts). */
export const ListPageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).optional().openapi({ description: 'next_cursor of the page before' }),
});
