/** The split that finds the rows a database refuses (the back-off itself is core/backoff.ts). */

/**
 * Writes `rows` with `write`; when the database refuses the lot because of the data (`isDataError`),
 * splits it and tries the parts in order until each refused row stands alone, and hands that row to
 * `refused` (before any later row is written, so an offset-ordered writer never gets ahead of a
 * refused row). `hint(error, rows)` may name the index of the culprit (ClickHouse says "at row N"):
 * rows before it are written as one part, the culprit alone, then the rest. Any other error stops
 * and propagates: the caller retries the whole batch.
 */
export async function writeOrSplit<R>(
  rows: readonly R[],
  write: (rows: readonly R[]) => Promise<void>,
  refused: (row: R, error: Error) => Promise<void>,
  isDataError: (error: unknown) => boolean,
  hint: (error: Error, rows: readonly R[]) => number | undefined = () => undefined,
): Promise<void> {
  if (rows.length === 0) return;
  try {
    await write(rows);
    return;
  } catch (error) {
    if (!isDataError(error)) throw error;
    if (rows.length === 1) {
      await refused(rows[0] as R, error as Error);
      return;
    }
    const at = hint(error as Error, rows);
    const parts =
      at !== undefined && at >= 0 && at < rows.length
        ? [rows.slice(0, at), rows.slice(at, at + 1), rows.slice(at + 1)]
        : [rows.slice(0, Math.ceil(rows.length / 2)), rows.slice(Math.ceil(rows.length / 2))];
    for (const part of parts) await writeOrSplit(part, write, refused, isDataError, hint);
  }
}
