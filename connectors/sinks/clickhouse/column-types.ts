/**
 * Does a cell fit a ClickHouse column type? Only the checks the server itself skips: integers out
 * of their type's range (18.16 wraps them) and null in a non-Nullable column (read as 0 or '').
 * Everything else the server parses and refuses on its own.
 */
import type { Cell } from '../runtime/spec.ts';

const INTEGER = /^(U?)Int(8|16|32|64)$/;

function integerRange(type: string): [bigint, bigint] | undefined {
  const match = INTEGER.exec(type);
  if (!match) return undefined;
  const bits = BigInt(match[2]!);
  return match[1] ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
}

/** undefined when the cell fits, else why not (names the column and the type). */
export function cellFits(column: string, type: string, cell: Cell): string | undefined {
  const nullable = /^Nullable\((.*)\)$/.exec(type);
  if (cell === null) return nullable ? undefined : `column ${column} (${type}) cannot hold null`;
  const range = integerRange(nullable ? nullable[1]! : type);
  if (!range) return undefined;
  let value: bigint;
  try {
    if (typeof cell === 'number' && !Number.isInteger(cell)) throw new RangeError('fraction');
    value = BigInt(cell as number | bigint | string | boolean);
  } catch {
    return `column ${column} (${type}) cannot hold ${JSON.stringify(String(cell))}: not an integer`;
  }
  if (value < range[0] || value > range[1])
    return `column ${column} (${type}) cannot hold ${value}: out of range ${range[0]}..${range[1]}`;
  return undefined;
}
