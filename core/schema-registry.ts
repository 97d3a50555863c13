/**
 * Avro serde on the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) through a
 * Confluent-compatible registry (Apicurio's /apis/ccompat/v7 here). Producers encode with the
 * latest schema of the topic's subject; consumers decode by the id in the message.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { loadConfig } from './config.ts';
import { errorKind, MillraceError } from './errors.ts';
import { keptSecret } from './secret-file.ts';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

/** The registry refused a schema (incompatible, invalid); the message is the registry's. */
export class SchemaRefusedError extends errorKind('SchemaRefusedError', { code: 'schema_refused' }) {}

/** A value does not match its topic's schema; `fields` names every offending path. */
export class RecordInvalidError extends MillraceError {
  override name = 'RecordInvalidError';
  constructor(
    readonly subject: string,
    readonly fields: string[],
  ) {
    super(`record does not match ${subject}: invalid field(s) ${fields.map((f) => `"${f}"`).join(', ')}`, {
      code: 'record_invalid',
      status: 400,
      details: { subject, fields, ...(fields[0] === undefined ? {} : { field: fields[0] }) },
    });
  }
}

/** Bytes that cannot be turned back into a record: not our wire format, or an unknown schema id. */
export class UndecodableError extends errorKind('UndecodableError', { code: 'undecodable' }) {}

const MAGIC_BYTE = 0;

/** The schema id of bytes in the Confluent wire format; UndecodableError if they are not in it. */
function wireSchemaId(bytes: Buffer | null): number {
  if (!bytes || bytes.length < 5) {
    throw new UndecodableError(`not Avro in the Confluent wire format: ${bytes?.length ?? 0} bytes, need at least 5`);
  }
  if (bytes[0] !== MAGIC_BYTE) {
    throw new UndecodableError(`not Avro in the Confluent wire format: magic byte ${bytes[0]}, expected 0`);
  }
  return bytes.readInt32BE(1);
}

/**
 * Encodes records one after another into a large buffer and hands out views of it, as Node's own
 * Buffer pool does: one allocation per 256 KB instead of two per record. A view keeps only its
 * slab alive; a full slab is left to the views still using it.
 */
class WireSlab {
  private static readonly SIZE = 256 * 1024;
  private buf = Buffer.allocUnsafe(WireSlab.SIZE);
  private pos = 0;

  write(schemaId: number, type: avro.Type, value: unknown): Buffer {
    for (;;) {
      const start = this.pos;
      const end = start + 5 <= this.buf.length ? type.encode(value, this.buf, start + 5) : -5;
      if (end > 0) {
        this.buf[start] = MAGIC_BYTE;
        this.buf.writeInt32BE(schemaId, start + 1);
        this.pos = end;
        return this.buf.subarray(start, end);
      }
      // too little room left: a fresh slab, large enough for this record (end is minus what was missing)
      this.buf = Buffer.allocUnsafe(Math.max(WireSlab.SIZE, 2 * (this.buf.length - start - end + 5)));
      this.pos = 0;
    }
  }
}

/** HTTP basic credentials for the registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/**
 * What `millrace provision` authenticates with: the platform's own subjects (the catalogue's) take
 * new versions only from it (the local registry's guard, infra/registry-guard.ts, checks it; a
 * registry without the guard ignores it). The key is kept under MILLRACE_HOME/secrets.
 */
export const provisionCredentials = (home = loadConfig().MILLRACE_HOME): RegistryCredentials => ({
  username: 'millrace-provision',
  password: keptSecret(home, 'registry-provision.key'),
});

/**
 * The schema registry's Confluent-compatible API (SCHEMA_REGISTRY_URL): registration with a compatibility level, and Avro in the Confluent wire format.
 *
 * @example
 * const registry = new Registry();
 * const bytes = await registry.encode('market.quotes.raw-value', quote);
 * const { value, schemaId } = await registry.decode(bytes);
 */
export class Registry {
  readonly url: string;
  private readonly client: SchemaRegistry;
  private readonly latestIds = new Map<string, Promise<number>>();
  private readonly writerTypes = new Map<number, Promise<avro.Type>>();
  /** The writer types looked up so far, for decoding without waiting. */
  private readonly knownTypes = new Map<number, avro.Type>();
  private readonly slab = new WireSlab();

  private readonly authorization: Record<string, string>;

  constructor(url = loadConfig().SCHEMA_REGISTRY_URL, options: { credentials?: RegistryCredentials } = {}) {
    this.url = url.replace(/\/$/, '');
    const auth = options.credentials;
    this.authorization = auth
      ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` }
      : {};
    // retries: a short outage of the registry should not fail a produce or a decode
    this.client = new SchemaRegistry({
      host: this.url,
      auth: auth && { ...auth },
      retry: { retries: 5, initialRetryTimeInSecs: 0.2 },
    });
  }

  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    await this.http('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }

  async compatibility(subject: string): Promise<string | undefined> {
    const body = await this.http('GET', `/config/${encodeURIComponent(subject)}`, undefined, [404]);
    return (body as { compatibilityLevel?: string } | undefined)?.compatibilityLevel;
  }

  /**
   * Registers a schema under a subject with the given compatibility level (set first: Apicurio
   * applies its default only to the compatibility-check endpoint, not to registration).
   * Registering an identical schema again returns the same id. Returns the schema id.
   */
  async register(subject: string, schemaText: string, level: Compatibility = 'BACKWARD'): Promise<number> {
    await this.setCompatibility(subject, level);
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: schemaText },
        { subject, compatibility: COMPATIBILITY[level] },
      );
      this.latestIds.set(subject, Promise.resolve(id));
      return id;
    } catch (error) {
      throw new SchemaRefusedError(`registry refused the schema for ${subject}: ${(error as Error).message}`);
    }
  }

  /** Every version of a subject, oldest first, with its schema id and text (none for an unknown subject). */
  async versions(subject: string): Promise<{ version: number; id: number; schema: string }[]> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions`;
    const numbers = ((await this.http('GET', path, undefined, [404])) as number[] | undefined) ?? [];
    return Promise.all(
      numbers.map(async (n) => {
        const { version, id, schema } = (await this.http('GET', `${path}/${n}`)) as {
          version: number;
          id: number;
          schema: string;
        };
        return { version, id, schema };
      }),
    );
  }

  async subjects(): Promise<string[]> {
    return (await this.http('GET', '/subjects')) as string[];
  }

  /** The id of the newest schema of a subject, cached for the life of this object. */
  latestId(subject: string): Promise<number> {
    let id = this.latestIds.get(subject);
    if (!id) {
      id = this.client.getLatestSchemaId(subject);
      id.catch(() => this.latestIds.delete(subject));
      this.latestIds.set(subject, id);
    }
    return id;
  }

  /**
   * Checks a value against the newest schema of a subject without encoding it: every offending
   * field with the type it expects, e.g. `{ field: 'close', expected: 'double' }`.
   */
  async validate(subject: string, value: unknown): Promise<{ field: string; expected: string }[]> {
    const type = await this.writerType(await this.latestId(subject));
    const problems: { field: string; expected: string }[] = [];
    type.isValid(value, {
      errorHook: (path, _value, expected) => {
        const name =
          expected.typeName === 'record' || expected.typeName === 'enum'
            ? JSON.stringify(expected.schema())
            : expected.typeName;
        problems.push({ field: path.join('.') || '(record)', expected: name.length > 120 ? expected.typeName : name });
      },
    });
    return problems;
  }

  async encode(subject: string, value: unknown): Promise<Buffer> {
    return (await this.encoderOf(subject))(value);
  }

  /**
   * A synchronous `encode` for the newest schema of `subject` (looked up once): the same bytes,
   * written into a shared slab rather than a buffer or two per record; the same RecordInvalidError.
   *
   * @example
   * const encode = await registry.encoderOf('flights.scored-value');
   * const values = scored.map(encode);
   */
  async encoderOf(subject: string): Promise<(value: unknown) => Buffer> {
    const id = await this.latestId(subject);
    const type = await this.writerType(id);
    return (value) => {
      try {
        return this.slab.write(id, type, value);
      } catch (error) {
        const paths: string[][] = [];
        type.isValid(value, { errorHook: (path) => paths.push(path) });
        if (paths.length > 0)
          throw new RecordInvalidError(
            subject,
            paths.map((p) => p.join('.') || '(root)'),
          );
        throw error;
      }
    };
  }

  /**
   * A synchronous encoder for the newest schema of a subject, for many records in a row: the compiled
   * Avro type is fetched once and each value costs one `toBuffer`, with no promise per record. A
   * value that does not fit throws RecordInvalidError naming every offending field, as `encode` does.
   *
   * @example
   * const encode = await registry.encoder('samples.flights.raw-value');
   * const bytes = encode(flight); // Confluent wire format: magic byte, schema id, Avro body
   */
  async encoder(subject: string): Promise<(value: unknown) => Buffer> {
    const id = await this.latestId(subject);
    const type = await this.writerType(id);
    const header = Buffer.alloc(5);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeInt32BE(id, 1);
    return (value) => {
      let body: Buffer;
      try {
        body = type.toBuffer(value); // avsc throws on any value its type does not accept
      } catch {
        const fields: string[] = [];
        type.isValid(value, { errorHook: (path) => fields.push(path.join('.') || '(root)') });
        throw new RecordInvalidError(subject, fields.length > 0 ? fields : ['(root)']);
      }
      return Buffer.concat([header, body], header.length + body.length);
    };
  }

  async decode<T = Record<string, unknown>>(bytes: Buffer | null): Promise<{ schemaId: number; value: T }> {
    return this.decodeWith<T>(bytes, await this.writerType(wireSchemaId(bytes)));
  }

  /**
   * `decode` without waiting, for bytes whose schema this registry has looked up before (a fetched
   * batch is nearly always of one schema); undefined when it has not: then `decode`.
   */
  decodeKnown<T = Record<string, unknown>>(bytes: Buffer | null): { schemaId: number; value: T } | undefined {
    const type = this.knownTypes.get(wireSchemaId(bytes));
    return type && this.decodeWith<T>(bytes, type);
  }

  private decodeWith<T>(bytes: Buffer | null, type: avro.Type): { schemaId: number; value: T } {
    const schemaId = bytes!.readInt32BE(1);
    try {
      // decode at offset 5 rather than fromBuffer(subarray(5)): no Buffer view per record
      const { value, offset } = type.decode(bytes!, 5);
      if (offset < 0) throw new Error('truncated buffer');
      if (offset < bytes!.length) throw new Error('trailing data');
      return { schemaId, value: value as T };
    } catch (error) {
      throw new UndecodableError(`cannot decode with schema id ${schemaId}: ${(error as Error).message}`);
    }
  }

  /**
   * The writer schema of an id. Looked up here rather than inside the client library so that
   * "the registry does not know this id" (the record's fault: DLQ) stays distinguishable from
   * "the registry is down" (ours: retry, never DLQ).
   */
  private writerType(schemaId: number): Promise<avro.Type> {
    let type = this.writerTypes.get(schemaId);
    if (!type) {
      type = this.http('GET', `/schemas/ids/${schemaId}`, undefined, [404]).then((body) => {
        const schema = (body as { schema?: string } | undefined)?.schema;
        if (!schema) throw new UndecodableError(`schema id ${schemaId} is unknown to the registry`);
        const compiled = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
        this.knownTypes.set(schemaId, compiled);
        return compiled;
      });
      type.catch(() => this.writerTypes.delete(schemaId));
      this.writerTypes.set(schemaId, type);
    }
    return type;
  }

  private async http(method: string, route: string, body?: unknown, allow: number[] = []): Promise<unknown> {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: {
        'content-type': 'application/vnd.schemaregistry.v1+json',
        accept: 'application/json',
        ...this.authorization,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (allow.includes(response.status)) return undefined;
    const text = await response.text();
    if (!response.ok) throw new SchemaRefusedError(`registry ${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}
