/** Command-line options: parseArgs tables of flags, and numbers parsed with errors that name the flag. */

/**
 * parseArgs options for flags of one type.
 *
 * @example
 * ```ts
 * parseArgs({ args, options: { ...flags('string', 'topic', 'from'), ...flags('boolean', 'dry-run') } });
 * ```
 */
export function flags<const T extends 'string' | 'boolean', const K extends string>(
  type: T,
  ...names: K[]
): Record<K, { type: T }> {
  return Object.fromEntries(names.map((name) => [name, { type }])) as Record<K, { type: T }>;
}

export function positiveOption(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got "${raw}"`);
  return n;
}
