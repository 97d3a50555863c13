/** Avro schemas as people read them: a record's fields, each type in one line. */
interface AvroType {
  type: unknown;
  name?: string;
  logicalType?: string;
  items?: unknown;
  values?: unknown;
  symbols?: string[];
  fields?: Field[];
}

export interface Field {
  name: string;
  type: unknown;
  doc?: string;
}

/**
 * `null | double`, `long (timestamp-millis)`, `array<string>`, `map<double>`,
 * `enum Period {annual, quarterly}`, `record Name {field: type, …}`.
 */
export function typeText(type: unknown): string {
  if (Array.isArray(type)) return type.map(typeText).join(' | ');
  if (typeof type !== 'object' || type === null) return String(type);
  const t = type as AvroType;
  if (t.logicalType) return `${typeText(t.type)} (${t.logicalType})`;
  if (t.type === 'array') return `array<${typeText(t.items)}>`;
  if (t.type === 'map') return `map<${typeText(t.values)}>`;
  if (t.type === 'enum') return `enum ${t.name ?? ''} {${(t.symbols ?? []).join(', ')}}`;
  if (t.type === 'record')
    return `record ${t.name ?? ''} {${(t.fields ?? []).map((f) => `${f.name}: ${typeText(f.type)}`).join(', ')}}`;
  if (t.type === 'fixed') return `fixed ${t.name ?? ''}`;
  return typeText(t.type);
}

/** A record schema's fields (none for any other schema). */
export const fieldsOf = (schema: unknown): Field[] =>
  typeof schema === 'object' && schema !== null ? ((schema as AvroType).fields ?? []) : [];
