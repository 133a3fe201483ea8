import type { Freshness } from './freshness';

type Entry<V> = { value: V; expiresAt: number };

/** The longest any answer is cached, whatever invalidation says: defence in depth. */
const CACHE_MAX_AGE_MS = 30_000;

/**
 * A bounded map of answers that `freshness` invalidates. Entries also expire on their own (their
 * credential's expiry, capped at `maxAgeMs` as defence in depth), and the least recently used one
 * goes when the cache is full, so a flood of distinct credentials costs bounded memory.
 */
export class FreshCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly freshness: Freshness,
    private readonly maxEntries: number,
    private readonly maxAgeMs = CACHE_MAX_AGE_MS,
  ) {
    freshness.attach(this);
  }

  /** The cached answer, only while caching is open and the entry has not expired. */
  get(key: string, now = Date.now()): V | undefined {
    if (!this.freshness.isOpen()) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    // Re-inserted, so Map order is recency order and the first key is the least recently used.
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Taken before loading an answer to store with `set`. */
  ticket(): number | null {
    return this.freshness.ticket();
  }

  /** Stores an answer loaded since `ticket` was taken, unless something was invalidated meanwhile. */
  set(key: string, value: V, ticket: number | null, validUntil = Infinity): void {
    if (!this.freshness.mayStore(ticket)) return;
    const now = Date.now();
    const expiresAt = Math.min(validUntil, now + this.maxAgeMs);
    if (expiresAt <= now) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt });
  }

  clear(): void {
    this.entries.clear();
  }
}
