/**
 * Answers shared by key: every caller of a key whose load is still in flight gets that same load
 * (request coalescing); a settled answer is `cached` for `ttlMs` after it settled, then `stale`
 * for `staleMs` more: a stale answer is returned at once while one refresh runs behind it (HTTP's
 * stale-while-revalidate), so a dashboard asking again waits for no query. Past both it is loaded
 * again. A failed load is forgotten at once (a failed refresh leaves the stale answer to age out).
 * Settled answers are kept least recently used first out, bounded by their count and by the
 * weight `weigh` gives each (loads in flight are bounded by the callers' queues, not here).
 */
export type Source = 'queried' | 'shared' | 'cached' | 'stale';

export interface SharedAnswersOptions<T> {
  /** how long a settled answer is fresh; 0: shared only while in flight */
  ttlMs: number;
  /** how long past the TTL it is still returned while a refresh runs; 0: never */
  staleMs?: number;
  maxEntries?: number;
  /** the most weight settled answers hold together */
  maxWeight?: number;
  weigh?: (value: T) => number;
  now?: () => number;
}

interface Entry<T> {
  /** the settled answer, when there is one */
  settled?: { value: T; at: number; weight: number };
  /** the load in flight: the first, or a refresh of `settled` */
  loading?: Promise<T>;
}

export class SharedAnswers<T> {
  /** Map order is use order: the least recently used come first. */
  private readonly entries = new Map<string, Entry<T>>();
  private weight = 0;
  private readonly ttlMs: number;
  private readonly staleMs: number;
  private readonly maxEntries: number;
  private readonly maxWeight: number;
  private readonly weigh: (value: T) => number;
  private readonly now: () => number;

  constructor(options: SharedAnswersOptions<T>) {
    this.ttlMs = options.ttlMs;
    this.staleMs = options.ttlMs > 0 ? (options.staleMs ?? 0) : 0;
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxWeight = options.maxWeight ?? Infinity;
    this.weigh = options.weigh ?? (() => 0);
    this.now = options.now ?? Date.now;
  }

  /**
   * The answer of `key`: a settled one within its TTL (`cached`) or past it within the stale window
   * (`stale`, a refresh started if none runs), a load in flight (`shared`), or `load()`'s (`queried`).
   * `ageMs` is how long ago a returned settled answer settled. `load(true)` is a refresh behind a
   * stale answer: nobody waits for it.
   */
  get(key: string, load: (refresh: boolean) => Promise<T>): { value: Promise<T>; source: Source; ageMs?: number } {
    const entry = this.entries.get(key) ?? {};
    const ageMs = entry.settled ? this.now() - entry.settled.at : Infinity;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (entry.settled && ageMs < this.ttlMs)
      return { value: Promise.resolve(entry.settled.value), source: 'cached', ageMs };
    if (entry.settled && ageMs < this.ttlMs + this.staleMs) {
      // a failed refresh is not the caller's: it was answered already, and the next one retries
      if (!entry.loading) this.start(key, entry, () => load(true)).catch(() => undefined);
      return { value: Promise.resolve(entry.settled.value), source: 'stale', ageMs };
    }
    this.drop(key, entry);
    if (entry.loading) return { value: entry.loading, source: 'shared' };
    return { value: this.start(key, entry, () => load(false)), source: 'queried' };
  }

  private start(key: string, entry: Entry<T>, load: () => Promise<T>): Promise<T> {
    const loading = new Promise<T>((resolve) => resolve(load()));
    entry.loading = loading;
    this.entries.set(key, entry);
    loading.then(
      (value) => {
        if (entry.loading === loading) entry.loading = undefined;
        if (this.entries.get(key) !== entry || this.ttlMs === 0) return this.forgetIfIdle(key, entry);
        this.drop(key, entry, false);
        const weight = this.weigh(value);
        entry.settled = { value, at: this.now(), weight };
        this.weight += weight;
        this.evict();
      },
      () => {
        if (entry.loading === loading) entry.loading = undefined;
        this.forgetIfIdle(key, entry);
      },
    );
    return loading;
  }

  /** Forgets `entry`'s settled answer (and the entry itself when `whole`). */
  private drop(key: string, entry: Entry<T>, whole = true): void {
    if (entry.settled) this.weight -= entry.settled.weight;
    entry.settled = undefined;
    if (whole && !entry.loading && this.entries.get(key) === entry) this.entries.delete(key);
  }

  private forgetIfIdle(key: string, entry: Entry<T>): void {
    if (!entry.settled && !entry.loading && this.entries.get(key) === entry) this.entries.delete(key);
  }

  /** Drops the least recently used settled answers past either bound; a load in flight stays. */
  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.weight <= this.maxWeight) break;
      if (entry.settled) this.drop(key, entry);
    }
  }
}
