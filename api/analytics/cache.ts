/**
 * A small time-to-live cache of promises: concurrent identical queries share one ClickHouse round
 * trip, a failed one is forgotten at once, and the oldest entries go first past `maxEntries`.
 * A TTL of 0 disables it.
 */
export class TtlCache<T> {
  private readonly entries = new Map<string, { expires: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value of `key`, or `load()`'s; `hit` says which. */
  get(key: string, load: () => Promise<T>): { value: Promise<T>; hit: boolean } {
    if (this.ttlMs <= 0) return { value: load(), hit: false };
    const now = this.now();
    const cached = this.entries.get(key);
    if (cached && cached.expires > now) return { value: cached.value, hit: true };
    this.entries.delete(key);
    const value = load();
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    this.entries.set(key, { expires: now + this.ttlMs, value });
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return { value, hit: false };
  }
}
