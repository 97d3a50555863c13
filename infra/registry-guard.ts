/**
 * The registry's guard: a small HTTP proxy in front of Apicurio that keeps the platform's own
 * subjects (`-key` and `-value` of every catalogue topic and of its DLQ) as `millrace provision`
 * leaves them. Apicurio 3.0 cannot do it alone: its ccompat `/mode` endpoints do nothing, no
 * compatibility level refuses a compatible schema, and owner-only authorisation refuses even the
 * registered schema to a client with auto-register on.
 *
 * Without the provisioning credentials (core/schema-registry.ts `provisionCredentials`), a
 * registration on a platform subject is answered as Confluent's registry answers one on a subject
 * in READONLY mode: the id of the registered schema when the schema sent is one of its versions
 * (Apicurio compares canonical forms, so formatting, key order and docs do not matter), else 422
 * with error code 42205 and nothing written. Deleting such a subject or changing its compatibility
 * is refused likewise, and so is every write through Apicurio's own API (not the Confluent one).
 * Everything else, tenants' own subjects included, passes through unchanged.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { RegistryCredentials } from '../core/schema-registry.ts';
import { dlqTopicOf } from '../schemas/topic-spec.ts';

export interface GuardPolicy {
  /** The path of the Confluent-compatible API, e.g. `/apis/ccompat/v7`. */
  base: string;
  platformSubjects: ReadonlySet<string>;
}

export type GuardDecision =
  | { action: 'forward' }
  /** A registration on a platform subject: answered by a lookup of the same schema. */
  | { action: 'lookup'; subject: string }
  | { action: 'refuse'; status: number; errorCode: number; message: string };

/** The subjects the guard keeps: key and value subjects (TopicNameStrategy) of the topics and their DLQs. */
export const platformSubjectsOf = (topics: readonly string[]): Set<string> =>
  new Set(topics.flatMap((t) => [t, dlqTopicOf(t)]).flatMap((t) => [`${t}-key`, `${t}-value`]));

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

const readOnly = (subject: string): string =>
  `subject ${subject} is read-only: it belongs to the Millrace catalogue and changes only through \`millrace provision\``;

/** What the guard does with one request; `authorised`: it carries the provisioning credentials. */
export function decide(policy: GuardPolicy, method: string, url: string, authorised: boolean): GuardDecision {
  if (authorised || READS.has(method)) return { action: 'forward' };
  // WHATWG URL parsing resolves dot segments (also percent-encoded ones), as the registry's router does
  const { pathname } = new URL(url, 'http://registry');
  if (pathname !== policy.base && !pathname.startsWith(`${policy.base}/`)) {
    return {
      action: 'refuse',
      status: 403,
      errorCode: 40301,
      message: `${method} ${pathname}: Apicurio's own API is read-only here; register through the Confluent-compatible API at ${policy.base}`,
    };
  }
  let segments: string[];
  try {
    segments = pathname.slice(policy.base.length).split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { action: 'refuse', status: 400, errorCode: 400, message: `malformed path ${pathname}` };
  }
  const [resource, subject, sub] = segments;
  if (subject === undefined || !policy.platformSubjects.has(subject)) return { action: 'forward' };
  if (resource === 'subjects' && sub === 'versions' && segments.length === 3 && method === 'POST') {
    return { action: 'lookup', subject };
  }
  // POST /subjects/{s} is a lookup: it writes nothing
  const writes = (resource === 'subjects' && method !== 'POST') || resource === 'config' || resource === 'mode';
  return writes
    ? { action: 'refuse', status: 422, errorCode: 42205, message: readOnly(subject) }
    : { action: 'forward' };
}

/** The answer to a registration that a lookup did not find: why, and what to do instead. */
export function notRegisteredMessage(subject: string): string {
  const hint = subject.endsWith('-key')
    ? "the catalogue's topics have plain UTF-8 string keys (StringSerializer), no key schema"
    : `the schema sent is not one of its versions; use the registered schema (GET /subjects/${subject}/versions/latest), or turn auto.register.schemas off and use.latest.version on`;
  return `${readOnly(subject)}; ${hint}`;
}

/** True when the Authorization header carries exactly these basic credentials. */
export function hasCredentials(header: string | undefined, credentials: RegistryCredentials): boolean {
  const expected = Buffer.from(
    `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
  );
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'host',
  'authorization',
]);

const endToEnd = (headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

const MAX_BODY_BYTES = 16 * 1024 * 1024;

class BodyTooLargeError extends Error {}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export interface GuardOptions {
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  policy: GuardPolicy;
  credentials: RegistryCredentials;
  /** Told of every refusal. */
  onRefusal?: (refusal: { method: string; url: string; message: string }) => void;
}

/**
 * Serves the guard until the returned server is closed.
 *
 * @example
 * const server = await startRegistryGuard({ listen, upstream, policy, credentials: provisionCredentials() });
 */
export async function startRegistryGuard(options: GuardOptions): Promise<http.Server> {
  const agent = new http.Agent({ keepAlive: true });
  const call = (method: string, url: string, headers: http.OutgoingHttpHeaders, body: Buffer) =>
    new Promise<Upstream>((resolve, reject) => {
      const request = http.request(
        { ...options.upstream, agent, method, path: url, headers: { ...headers, 'content-length': body.length } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });

  const send = (res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: Buffer) => {
    res.writeHead(status, { ...headers, 'content-length': body.length });
    res.end(body);
  };
  const sendError = (res: http.ServerResponse, status: number, errorCode: number, message: string) =>
    send(
      res,
      status,
      { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      Buffer.from(JSON.stringify({ error_code: errorCode, message })),
    );

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const authorised = hasCredentials(req.headers.authorization, options.credentials);
    const decision = decide(options.policy, method, url, authorised);
    const refuse = (status: number, errorCode: number, message: string) => {
      options.onRefusal?.({ method, url, message });
      sendError(res, status, errorCode, message);
    };
    if (decision.action === 'refuse') {
      req.resume();
      refuse(decision.status, decision.errorCode, decision.message);
      return;
    }
    const body = await readBody(req);
    const headers = endToEnd(req.headers);
    if (decision.action === 'forward') {
      const answer = await call(method, url, headers, body);
      send(res, answer.status, endToEnd(answer.headers), answer.body);
      return;
    }
    const { search } = new URL(url, 'http://registry');
    const lookupUrl = `${options.policy.base}/subjects/${encodeURIComponent(decision.subject)}${search}`;
    const found = await call('POST', lookupUrl, headers, body);
    if (found.status === 200) {
      const { id } = JSON.parse(found.body.toString('utf8')) as { id: number };
      send(res, 200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }, Buffer.from(JSON.stringify({ id })));
    } else if (found.status === 404) {
      refuse(422, 42205, notRegisteredMessage(decision.subject));
    } else {
      // an invalid schema (422) or a failing registry: the client sees the registry's own answer
      send(res, found.status, endToEnd(found.headers), found.body);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof BodyTooLargeError) sendError(res, 413, 413, `request body over ${MAX_BODY_BYTES} bytes`);
      else sendError(res, 502, 50201, `the registry (Apicurio) did not answer: ${error.message}`);
    });
  });
  server.on('close', () => agent.destroy());
  server.listen(options.listen.port, options.listen.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return server;
}
