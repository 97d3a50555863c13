/**
 * Does a cell fit a ClickHouse column type? Only the checks the server itself skips: integers out
 * of their type's range (18.16 wraps them) and null in a non-Nullable column (read as 0 or '').
 * Everything else the server parses and refuses on its own. The check of a column is built once
 * (the type parsed once), then run on every cell.
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
export type CellCheck = (cell: Cell) => string | undefined;

/** The check of column `column` of type `type`. */
export function cellCheck(column: string, type: string): CellCheck {
  const nullable = /^Nullable\((.*)\)$/.exec(type);
  const range = integerRange(nullable ? nullable[1]! : type);
  const [low, high] = range ? range.map(Number) : [0, 0];
  const checkInteger = (cell: Cell): string | undefined => {
    // the common case without a BigInt: a safe integer number within a range that doubles hold exactly
    if (typeof cell === 'number' && Number.isSafeInteger(cell) && cell >= low! && cell <= high!) return undefined;
    let value: bigint;
    try {
      if (typeof cell === 'number' && !Number.isInteger(cell)) throw new RangeError('fraction');
      value = BigInt(cell as number | bigint | string | boolean);
    } catch {
      return `column ${column} (${type}) cannot hold ${JSON.stringify(String(cell))}: not an integer`;
    }
    if (value < range![0] || value > range![1])
      return `column ${column} (${type}) cannot hold ${value}: out of range ${range![0]}..${range![1]}`;
    return undefined;
  };
  return (cell) => {
    if (cell === null) return nullable ? undefined : `column ${column} (${type}) cannot hold null`;
    return range ? checkInteger(cell) : undefined;
  };
}
