/**
 * The one way values reach ClickHouse SQL. ClickHouse 18.16 (Debian's) has no server-side query
 * parameters, so every value is rendered as a literal here and nowhere else, and identifiers are
 * accepted only from a whitelist. Literals are valid on 18.16 and on 24.x alike.
 */
import { errorKind } from './errors.ts';

export class SqlValueError extends errorKind('SqlValueError', { code: 'sql_value' }) {}

// Inside ClickHouse quoted strings a backslash starts an escape; these are the ones it knows.
const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\n\r\t\0\b\f]/g, (c) => STRING_ESCAPES[c] ?? c)}'`;
}

/**
 * Renders a JavaScript value as a ClickHouse literal.
 *
 * @example
 * `SELECT count() FROM samples_flights WHERE tenant_id = ${sqlValue(tenant)} AND delay > ${sqlValue(-5)}`
 * // ... WHERE tenant_id = 'acme' AND delay > (-5)
 */
export function sqlValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new SqlValueError(`not a finite number: ${value}`);
      // a leading minus would otherwise combine with a preceding '-' into a comment ("--")
      return value < 0 || Object.is(value, -0) ? `(${value})` : String(value);
    case 'object':
      if (value instanceof Date) {
        const ms = value.getTime();
        if (Number.isNaN(ms)) throw new SqlValueError('invalid Date');
        // epoch seconds: no dependence on the server's time zone
        return `toDateTime(${Math.floor(ms / 1000)})`;
      }
      if (Array.isArray(value)) return `[${value.map(sqlValue).join(', ')}]`;
      break;
  }
  throw new SqlValueError(`cannot render a ${typeof value} as a ClickHouse literal`);
}

/**
 * A whitelisted identifier, back-quoted; anything not in the whitelist is refused.
 *
 * @example
 * `SELECT ${sqlIdentifier(column, VIEW_COLUMNS)} FROM ...` // throws SqlValueError for any other name
 */
export function sqlIdentifier(name: string, allowed: Iterable<string>): string {
  for (const candidate of allowed) {
    if (candidate === name) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        throw new SqlValueError(`whitelisted name "${name}" is not a plain identifier`);
      return `\`${name}\``;
    }
  }
  throw new SqlValueError(`"${name}" is not an allowed name`);
}
