/**
 * Answers shared by key: every caller of a key whose load is still in flight gets that same load
 * (request coalescing), and a settled answer is kept `ttlMs` after it settled (0: shared only
 * while in flight). A failed load is forgotten at once; past `maxEntries` the oldest settled
 * answers go first (loads in flight are bounded by the callers' queues, not here).
 */
export type Source = 'queried' | 'shared' | 'cached';

export class SharedAnswers<T> {
  /** `expires` is Infinity while the load is in flight. Map order is load order: the oldest come first. */
  private readonly entries = new Map<string, { expires: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The answer of `key`: a load in flight (`shared`), a settled one within its TTL (`cached`), or `load()`'s (`queried`). */
  get(key: string, load: () => Promise<T>): { value: Promise<T>; source: Source } {
    const found = this.entries.get(key);
    if (found && found.expires > this.now())
      return { value: found.value, source: found.expires === Infinity ? 'shared' : 'cached' };
    this.entries.delete(key);
    const entry = { expires: Infinity, value: new Promise<T>((resolve) => resolve(load())) };
    this.entries.set(key, entry);
    const settle = (keep: boolean) => {
      if (this.entries.get(key) !== entry) return;
      if (keep && this.ttlMs > 0) entry.expires = this.now() + this.ttlMs;
      else this.entries.delete(key);
    };
    entry.value.then(
      () => settle(true),
      () => settle(false),
    );
    for (const [oldest, { expires }] of this.entries) {
      if (this.entries.size <= this.maxEntries) break;
      if (expires !== Infinity) this.entries.delete(oldest);
    }
    return { value: entry.value, source: 'queried' };
  }
}
