/**
 * Which DELETE statements remove every Postgres row of a tenant, in an order no foreign key refuses:
 * a row another table points at goes only after the rows pointing at it (which may carry no
 * tenant_id: an upload's rejections, a dataset's pages), each counted under its own table even where
 * the key would cascade. Pure: the tables and keys come from the catalog (erase-postgres.ts).
 */

/** A foreign key: `child (childColumns)` references `parent (parentColumns)`. */
export interface ForeignKey {
  child: string;
  childColumns: readonly string[];
  parent: string;
  parentColumns: readonly string[];
}

/** One statement; `$1` is the tenant id. */
export interface DeleteStep {
  table: string;
  sql: string;
}

/** A catalog name as a Postgres identifier. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

const columnList = (columns: readonly string[]) => columns.map(quoteIdent).join(', ');

/**
 * @example
 * deletionPlan(['uploads'], [{ child: 'upload_rejections', childColumns: ['upload_id'], parent: 'uploads', parentColumns: ['id'] }]);
 * // DELETE FROM "upload_rejections" WHERE ("upload_id") IN (SELECT "id" FROM "uploads" WHERE "tenant_id" = $1)
 * // DELETE FROM "uploads" WHERE "tenant_id" = $1
 */
export function deletionPlan(tenantTables: readonly string[], keys: readonly ForeignKey[]): DeleteStep[] {
  const steps: DeleteStep[] = [];
  const visit = (table: string, where: string, path: readonly string[]) => {
    for (const key of keys) {
      // a key back into a table on the path (a self reference, a cycle) is left to the database
      if (key.parent !== table || path.includes(key.child) || key.child === table) continue;
      const parentRows = `SELECT ${columnList(key.parentColumns)} FROM ${quoteIdent(table)} WHERE ${where}`;
      visit(key.child, `(${columnList(key.childColumns)}) IN (${parentRows})`, [...path, table]);
    }
    steps.push({ table, sql: `DELETE FROM ${quoteIdent(table)} WHERE ${where}` });
  };
  for (const table of [...tenantTables].sort()) visit(table, `${quoteIdent('tenant_id')} = $1`, []);
  return steps;
}
