/**
 * Inserts of several partitions' batches as one: while an insert is in flight, the batches that
 * arrive wait and then go together (group commit), so a fetch of six partitions costs one or two
 * inserts (one part per month each) instead of six, and the server's work overlaps the next
 * batches' decoding. Rows carry their own `_partition` and `_offset`, so one insert may hold any.
 *
 * A combined insert the server refuses because of its data landed nothing (an insert well below
 * max_insert_block_size is one block, parsed before it is written): each batch is then inserted
 * alone, so the refusal and its "(at row N)" belong to the batch that holds the row. Any other
 * failure fails every batch of the insert: each one's retry reads the table again (it may have
 * landed), as a failed insert of its own would.
 *
 * Inserts start at least `minIntervalMs` apart: a caught-up sink fetches a few records at a time, and
 * an insert per fetch would make a part per fetch (dozens a second) for ClickHouse to merge. Batches
 * that arrive in the gap join the next insert, which costs a caught-up record at most that long.
 */

interface Pending {
  text: string;
  rows: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class CombinedInserts {
  private readonly queue: Pending[] = [];
  private running = false;
  private lastStart = 0;

  /**
   * @param insert  inserts the TabSeparated rows of `texts` (each complete lines), streamed one after the other
   * @param isDataError  the server refused the rows themselves (nothing landed)
   * @param maxRows  an insert combines batches up to about this many rows
   * @param minIntervalMs  the least time between the starts of two inserts
   */
  constructor(
    private readonly insert: (texts: string[]) => Promise<void>,
    private readonly isDataError: (error: unknown) => boolean,
    private readonly maxRows = 200_000,
    private readonly minIntervalMs = 100,
  ) {}

  /** Resolves once `text` (`rows` complete lines) is inserted, alone or with others. */
  write(text: string, rows: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ text, rows, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const waitMs = this.lastStart + this.minIntervalMs - Date.now();
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
        this.lastStart = Date.now();
        const group: Pending[] = [];
        let rows = 0;
        while (this.queue.length > 0 && (group.length === 0 || rows + this.queue[0]!.rows <= this.maxRows)) {
          const next = this.queue.shift()!;
          group.push(next);
          rows += next.rows;
        }
        await this.insertGroup(group);
      }
    } finally {
      this.running = false;
    }
  }

  private async insertGroup(group: Pending[]): Promise<void> {
    try {
      await this.insert(group.map((p) => p.text));
      for (const p of group) p.resolve();
    } catch (error) {
      if (group.length === 1 || !this.isDataError(error)) {
        for (const p of group) p.reject(error);
        return;
      }
      for (const p of group) await this.insertGroup([p]);
    }
  }
}
