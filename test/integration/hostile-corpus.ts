/**
 * The hostile-input corpus (test/fixtures/hostile/*.jsonl): one case per line, naming its entry
 * point, its input and the outcome it must have. Read here, walked by hostile-inputs.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { corpusDir, type Part } from '../fixtures/hostile/payload.ts';

interface Base {
  id: string;
  about: string;
}

/** An HTTP outcome: the status, and for errors the `error` code, `field` and a message substring. */
export interface HttpExpect {
  status: number;
  error?: string;
  field?: string;
  message?: string;
  filename?: string;
  /** the text encoding a file was read in (uploads, bulk jobs) */
  encoding?: string;
  /** one per record: `ok` or `field:<name>` */
  results?: string[];
}

export interface UploadCase extends Base {
  entry: 'upload';
  body: Part[];
  content_type?: string;
  filename?: string;
  /** sent as ?charset= */
  charset?: string;
  expect: HttpExpect;
  /** processing the upload with these columns (`["*"]`: all) publishes and rejects so many rows; some reason contains `reason` */
  rows?: { columns: string[]; published: number; rejected: number; reason?: string };
}

export interface BulkCase extends Base {
  entry: 'bulk';
  body: Part[];
  content_type?: string;
  filename?: string;
  /** sent as ?charset= */
  charset?: string;
  expect: HttpExpect;
  /** once read, the job accepted and refused so many rows; some refusal names `reason` (field or text) */
  job?: { accepted: number; rejected: number; reason?: string };
}

export interface TrainingFileCase extends Base {
  entry: 'training-file';
  body: Part[];
  content_type?: string;
  /** the query string, `?` included */
  query?: string;
  expect: HttpExpect;
  /** once inspected: so many rows, so many bad, these columns in order; some bad row's reason contains `reason` */
  inspection?: { rows: number; bad_rows: number; columns: string[]; reason?: string };
}

export interface RecordsCase extends Base {
  entry: 'records';
  topic?: string;
  /** who sends it: tenant a's producer key unless `b_producer` */
  auth?: 'a_producer' | 'b_producer';
  content_type?: string;
  /** records as changes to a valid quote (`$drop`, `$raw`, `$deep`, `$repeat` markers) */
  base?: boolean;
  records?: Record<string, unknown>[];
  /** or the raw body */
  body?: Part[];
  /** numeric literals JSON cannot carry as numbers once parsed, spliced into the one record's text */
  body_numbers?: Record<string, string>;
  /** a raw `"key":value` spliced into the one record's text */
  body_raw_field?: string;
  expect: HttpExpect;
}

export interface HttpCase extends Base {
  entry: 'http';
  method: string;
  path: string;
  auth?: 'none' | 'a_admin' | 'a_producer' | 'a_reader' | 'operator';
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
  body_statement_number?: string;
  content_type?: string;
  /**
   * a request sent before this one, with its headers (an Idempotency-Key used first), which must get
   * `status`; `capture` names a token (`$name`) that takes the `id` it answers, for this case's path
   */
  first?: {
    /** this case's method unless given */
    method?: string;
    path?: string;
    auth?: 'a_producer' | 'b_producer';
    json?: unknown;
    body?: string;
    status: number;
    capture?: string;
  };
  expect: HttpExpect;
}

/**
 * Sign-up abuse: a request to POST /v1/auth/signup or /v1/auth/accept-invitation of an app whose
 * SIGNUP_MODE is `mode`. Walked by accounts.test.ts (it needs apps in each mode); `$name` tokens in
 * `json` are replaced there (`$run`, `$taken_tenant`, `$taken_email`, `$used_invitation`, ...).
 */
export interface SignupCase extends Base {
  entry: 'signup';
  mode: 'open' | 'invite' | 'closed';
  path: '/v1/auth/signup' | '/v1/auth/accept-invitation';
  json: Record<string, unknown>;
  expect: HttpExpect;
}

export type KafkaPart =
  Part | { schema_id: number | string } | { flight_avro: { keep?: number; keep_bytes?: number; drop_last?: number } };

export interface KafkaCase extends Base {
  entry: 'kafka';
  /** null: a tombstone */
  value: KafkaPart[] | null;
  expect: { dlq: { class: string; message: string } };
}

export interface CrawlCase extends Base {
  entry: 'crawl';
  url: string;
  /** hosts allowed for this fetcher; `config` leaves it to CRAWL_ALLOWED_HOSTS; none by default */
  allowed?: string[] | 'config';
  via?: 'fetch' | 'crawl';
  expect: { outcome: string; message?: string; refused_links?: number };
}

export interface SocketCase extends Base {
  entry: 'socket';
  kind: 'headers' | 'raw' | 'slow';
  header_bytes?: number;
  header_count?: number;
  header_name?: string;
  raw?: string;
  stage?: 'headers' | 'body' | 'chunked';
  clients?: number;
  expect: { status?: number; closed_within_ms?: number; no_upload_kept?: boolean; served_meanwhile?: boolean };
}

/** A market-data feed's response (Stooq or Yahoo CSV, Alpha Vantage JSON) through the market parser. */
export interface FeedCase extends Base {
  entry: 'feed';
  /** the feed format the page record names */
  format: string;
  body: Part[];
  /** so many bars (the first, oldest, with this close), or refused with this error class and message substring */
  expect: { bars: number; first_close?: number } | { error: string; message: string };
}

export type Case =
  | UploadCase
  | TrainingFileCase
  | BulkCase
  | RecordsCase
  | HttpCase
  | KafkaCase
  | CrawlCase
  | SocketCase
  | FeedCase
  | SignupCase;
export type Entry = Case['entry'];

export function loadCorpus(): Case[] {
  const cases = readdirSync(corpusDir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) =>
      readFileSync(path.join(corpusDir, f), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Case),
    );
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`corpus case ${c.id} is listed twice`);
    ids.add(c.id);
  }
  return cases;
}

export function casesOf<E extends Entry>(cases: readonly Case[], entry: E): Extract<Case, { entry: E }>[] {
  return cases.filter((c): c is Extract<Case, { entry: E }> => c.entry === entry);
}

export function batches<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/** Runs `work` over the items, at most `limit` at a time, results in order. */
export async function pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}
