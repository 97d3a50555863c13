/**
 * fast-check arbitraries from the app's own /openapi.json: values shaped by a parameter's or a
 * body's JSON schema, and garbage of the kinds hostile clients send. Used by api-fuzz.test.ts.
 */
import fc from 'fast-check';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  /** content type -> schema of the request body */
  body: Record<string, JsonSchema>;
}

export interface OpenApiDoc {
  paths: Record<
    string,
    Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>
  >;
  components?: { schemas?: Record<string, JsonSchema> };
}

export function operationsOf(doc: OpenApiDoc): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: Object.fromEntries(
        Object.entries(op.requestBody?.content ?? {}).map(([type, { schema }]) => [type, schema]),
      ),
    })),
  );
}

/** Strings hostile clients like: traversal, injection, encodings, numbers that are not, huge ones. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '../../etc/passwd',
    '..\\..\\win.ini',
    '%2e%2e%2f',
    '%00',
    '\u0000',
    "' OR '1'='1",
    '"; DROP TABLE uploads; --',
    '${jndi:ldap://x/a}',
    '{{7*7}}',
    '<script>alert(1)</script>',
    '__proto__',
    'constructor',
    'null',
    'undefined',
    'true',
    '-1',
    '0',
    '1e400',
    '-1e400',
    'NaN',
    'Infinity',
    '99999999999999999999999999',
    '9007199254740993',
    '0x1F',
    '1.5',
    '2024-02-30',
    '0000-00-00',
    '99999-12-31',
    '\uD800',
    '\uFEFF',
    '😀'.repeat(50),
    'e\u0301\u202e',
    'a'.repeat(5000),
    'market.quotes.raw',
    'market.quotes.raw.dlq',
    '00000000-0000-0000-0000-000000000000',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.uuid(),
  fc.integer().map(String),
  fc.double().map(String),
);

/** Any JSON, and text that is almost JSON. */
export const garbageBody: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '',
    '{',
    '[',
    '{"a":',
    'null',
    '[]',
    '{}',
    '{"a":NaN}',
    '[Infinity]',
    '{"a":1e400}',
    "{'a':1}",
    '{"a":1,}',
    '\uFEFF{}',
    '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]',
  ),
  fc.integer({ min: 1000, max: 50_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  nastyString,
);

export function arbitraryOf(schema: JsonSchema, doc: OpenApiDoc, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 5) return fc.constant(null);
  if (schema.$ref) {
    const resolved = doc.components?.schemas?.[schema.$ref.split('/').at(-1)!];
    return resolved ? arbitraryOf(resolved, doc, depth + 1) : fc.jsonValue({ maxDepth: 1 });
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => arbitraryOf(s, doc, depth + 1)));
  if (schema.allOf) {
    return fc
      .tuple(...schema.allOf.map((s) => arbitraryOf(s, doc, depth + 1)))
      .map((parts) => Object.assign({}, ...parts.filter((p) => typeof p === 'object')) as unknown);
  }
  if (Array.isArray(schema.type))
    return fc.oneof(...schema.type.map((type) => arbitraryOf({ ...schema, type }, doc, depth)));
  switch (schema.type) {
    case 'string':
      return stringOf(schema);
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -1e9, -(2 ** 31)),
        max: Math.min(schema.maximum ?? 1e9, 2 ** 31 - 1),
      });
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1e12,
        max: schema.maximum ?? 1e12,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schema.items ? arbitraryOf(schema.items, doc, depth + 1) : fc.jsonValue({ maxDepth: 1 }), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)),
      });
    case 'object': {
      const properties = Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, s]) => [name, arbitraryOf(s, doc, depth + 1)]),
      );
      const record = fc.record(properties, {
        requiredKeys: (schema.required ?? []).filter((name) => name in properties),
      });
      if (typeof schema.additionalProperties !== 'object') return record;
      const extra = fc.dictionary(
        fc.string({ minLength: 1, maxLength: 12 }),
        arbitraryOf(schema.additionalProperties, doc, depth + 1),
        { maxKeys: 3 },
      );
      return fc.tuple(record, extra).map(([r, e]) => ({ ...e, ...r }));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.pattern) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 1000));
    } catch {
      // a pattern JavaScript cannot read: plain strings below
    }
  }
  return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 200) });
}
