/**
 * The rebuild step of ClickHouse migrations: a table whose sorting key, partitioning or engine must
 * change (ClickHouse changes none of them in place) is copied into `<table>__next` with the new
 * layout, one source partition at a time (each counted against its copy, and recorded), then swapped
 * in by RENAME; the old table is kept as `<table>__old` until the swapped table's rows are counted
 * again. Every step can run again after a crash: a partition whose copy holds fewer rows (half copied,
 * or grown since) is deleted from the copy and copied again, a finished swap is recognised, and the
 * swap is refused while the row counts differ (a sink still writing into the old table, say).
 *
 * A migration names it with one statement of its own:
 *   REBUILD TABLE samples_flights ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, id)
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { syncReplicas } from './clickhouse-replicated.ts';
import { quoteString } from './clickhouse-sql.ts';
import { errorKind } from './errors.ts';

export class RebuildError extends errorKind('RebuildError', { code: 'rebuild_failed' }) {}

const REBUILD = /^REBUILD\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+(ENGINE\s*=[\s\S]+)$/i;
const PROGRESS = 'millrace_rebuild_progress';
/** The progress row of a finished rebuild (no partition is written so). */
const SWAPPED = '*swapped*';

/** The table and the new layout of a `REBUILD TABLE` statement, else undefined. */
export function parseRebuild(statement: string): { table: string; layout: string } | undefined {
  const match = REBUILD.exec(statement.trim());
  return match ? { table: match[1]!, layout: match[2]!.trim() } : undefined;
}

/**
 * On a shard of replicas (clickhouse-replicated.ts) the first replica copies; every other one
 * creates its `__next` on the same ZooKeeper path, waits until replication brought it the copy, and
 * swaps before the first does (the first dropping the old table last keeps its path alive until then).
 */
export interface Replicas {
  /** the other replicas, rebuilt in follow mode right before this one swaps */
  followers?: readonly ClickHouseClient[];
  /** this is such a replica: nothing is copied here */
  follow?: boolean;
}

interface Chunk {
  /** the source partition as system.parts writes it (a literal), 'tuple()' when unpartitioned */
  partition: string;
  predicate: string;
  /** removes what an earlier attempt copied of it */
  clear: () => Promise<void>;
}

export class TableRebuild {
  private readonly next: string;
  private readonly old: string;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: string,
    private readonly layout: string,
    /** who asks (the migration's name): progress is kept per migration */
    private readonly by: string,
    /** called after each partition is copied (tests use it to stop a rebuild part way) */
    private readonly onChunk: (partition: string) => void | Promise<void> = () => undefined,
    private readonly replicas: Replicas = {},
  ) {
    this.next = `${table}__next`;
    this.old = `${table}__old`;
  }

  async run(): Promise<void> {
    const [table, next, old] = await Promise.all([this.table, this.next, this.old].map((t) => this.exists(t)));
    if (!table && next && old) {
      // stopped between the two renames of a swap (RENAME of several tables is not atomic on 18.16)
      await this.command(`RENAME TABLE ${this.next} TO ${this.table}`);
      return this.finish();
    }
    if (!table) throw new RebuildError(`rebuild of ${this.table}: the table does not exist`);
    if (old && !next) return this.finish(); // swapped; the old table waits for its check
    if (old) throw new RebuildError(`rebuild of ${this.table}: ${this.old} and ${this.next} both exist; drop one`);
    await this.command(
      `CREATE TABLE IF NOT EXISTS ${PROGRESS} (migration String, table String, partition String, rows UInt64, copied_at DateTime DEFAULT now()) ENGINE = MergeTree() ORDER BY (migration, table, partition)`,
    );
    const swapped = await this.rows(
      `SELECT 1 FROM ${PROGRESS} WHERE migration = ${quoteString(this.by)} AND table = ${quoteString(this.table)} AND partition = ${quoteString(SWAPPED)}`,
    );
    if (swapped.length > 0 && !next) return; // finished before the migration was recorded
    await this.earlierCopiesEnded();
    await this.command(`CREATE TABLE IF NOT EXISTS ${this.next} AS ${this.table} ${this.layout}`);
    // no merges in the copy until it is counted after the swap: a replacing engine would collapse rows
    // (duplicates the old table had not merged yet) and the counts would never agree
    await this.command(`SYSTEM STOP MERGES ${this.next}`);
    if (this.replicas.follow) await syncReplicas(this.client, 300, [this.table, this.next]);
    else await this.copyChunks();
    const [from, to] = await Promise.all([this.count(this.table), this.count(this.next)]);
    if (from !== to)
      throw new RebuildError(
        `rebuild of ${this.table}: refusing to swap, ${this.table} holds ${from} rows and ${this.next} ${to} (is something still writing to ${this.table}? run the migration again once it stopped)`,
      );
    for (const follower of this.replicas.followers ?? [])
      await new TableRebuild(follower, this.table, this.layout, this.by, undefined, { follow: true }).run();
    await this.command(`RENAME TABLE ${this.table} TO ${this.old}, ${this.next} TO ${this.table}`);
    return this.finish();
  }

  private async copyChunks(): Promise<void> {
    for (const chunk of await this.chunks()) {
      // a partition is copied when its copy holds as many rows; one copied earlier that has grown since is copied again
      const [from, to] = await Promise.all([
        this.count(this.table, chunk.predicate),
        this.count(this.next, chunk.predicate),
      ]);
      if (from === to) continue;
      await this.copy(chunk);
      await this.onChunk(chunk.partition);
    }
  }

  /** The source's partitions, each with the predicate that selects its rows. */
  private async chunks(): Promise<Chunk[]> {
    const [source, copy] = await Promise.all([this.partitionKey(this.table), this.partitionKey(this.next)]);
    const parts = await this.rows<{ partition: string }>(
      `SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND table = ${quoteString(this.table)} AND active ORDER BY partition`,
    );
    return parts.map(({ partition }) => {
      const predicate = source === '' ? '1' : `(${source}) = ${partition}`;
      const clear =
        source === ''
          ? () => this.command(`TRUNCATE TABLE ${this.next}`) // one chunk: the whole table
          : source === copy
            ? () => this.command(`ALTER TABLE ${this.next} DROP PARTITION ${partition}`)
            : () => this.deleteFromCopy(predicate);
      return { partition, predicate, clear: async () => void (await clear()) };
    });
  }

  /** One partition into the copy: what an earlier attempt left of it is cleared first, the result counted. */
  private async copy({ partition, predicate, clear }: Chunk): Promise<void> {
    if ((await this.count(this.next, predicate)) > 0) await clear();
    await this.command(`INSERT INTO ${this.next} SELECT * FROM ${this.table} WHERE ${predicate}`);
    const [from, to] = await Promise.all([this.count(this.table, predicate), this.count(this.next, predicate)]);
    if (from !== to)
      throw new RebuildError(
        `rebuild of ${this.table}: partition ${partition} holds ${from} rows, its copy ${to} (is something still writing to ${this.table}?)`,
      );
    await this.progress(partition, to);
  }

  /**
   * Where the copy is partitioned differently, a source partition's rows are deleted from it by a
   * mutation, which the merge threads carry out: merges run in the copy until it is done.
   */
  private async deleteFromCopy(predicate: string): Promise<void> {
    await this.command(`SYSTEM START MERGES ${this.next}`);
    await this.command(`ALTER TABLE ${this.next} DELETE WHERE ${predicate}`);
    for (;;) {
      const [pending] = await this.rows<{ n: string }>(
        `SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() AND table = ${quoteString(this.next)} AND is_done = 0`,
      );
      if (Number(pending!.n) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.command(`SYSTEM STOP MERGES ${this.next}`);
  }

  private async partitionKey(table: string): Promise<string> {
    const [meta] = await this.rows<{ partition_key: string }>(
      `SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND name = ${quoteString(table)}`,
    );
    return meta!.partition_key;
  }

  /** After the swap: the new table holds what the old one held, then the old one goes. */
  private async finish(): Promise<void> {
    const [now, before] = await Promise.all([this.count(this.table), this.count(this.old)]);
    if (now !== before)
      throw new RebuildError(
        `rebuild of ${this.table}: after the swap it holds ${now} rows where ${this.old} holds ${before}; ${this.old} is kept`,
      );
    await this.command(`DROP TABLE ${this.old}`);
    await this.command(`SYSTEM START MERGES ${this.table}`);
    await this.progress(SWAPPED, now);
  }

  private progress(partition: string, rows: number): Promise<unknown> {
    return this.command(
      `INSERT INTO ${PROGRESS} (migration, table, partition, rows) VALUES (${quoteString(this.by)}, ${quoteString(this.table)}, ${quoteString(partition)}, ${rows})`,
    );
  }

  /**
   * A killed run's INSERT ... SELECT may still be running in the server (a client gone does not stop
   * it): counting a partition's copy before it ends would miss the rows it is yet to write.
   */
  private async earlierCopiesEnded(): Promise<void> {
    for (;;) {
      const [running] = await this.rows<{ n: string }>(
        `SELECT count() AS n FROM system.processes WHERE startsWith(query, ${quoteString(`INSERT INTO ${this.next} `)})`,
      );
      if (Number(running!.n) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async exists(table: string): Promise<boolean> {
    const rows = await this.rows(
      `SELECT 1 FROM system.tables WHERE database = currentDatabase() AND name = ${quoteString(table)}`,
    );
    return rows.length > 0;
  }

  private async count(table: string, predicate = '1'): Promise<number> {
    const [row] = await this.rows<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE ${predicate}`);
    return Number(row!.n);
  }

  private command(query: string): Promise<unknown> {
    // a partition copied again after a crash repeats blocks a replicated table would take for duplicates
    return this.client.command({ query, clickhouse_settings: { insert_deduplicate: 0 } });
  }

  private async rows<T>(query: string): Promise<T[]> {
    return (await this.client.query({ query, format: 'JSONEachRow' })).json<T>();
  }
}
