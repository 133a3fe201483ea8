/**
 * When an answer cached in this process may still be served. Two things make a cached answer
 * stale: a write that this process committed, and a write that another process committed (heard
 * through LISTEN). Both bump `generation`, which empties every cache attached here; a load that was
 * in flight across a bump is not stored (`ticket`/`mayStore`), so it cannot put back what the write
 * changed.
 *
 * The freshness rule (README, "Revocation across processes"): a change applies to every request
 * that starts after it commits on the process that made it, and to every request that starts more
 * than 1 s after it commits on any other. The second half holds only while invalidations can
 * arrive, so caches are open only while the listener proves, by a recent answered heartbeat, that
 * every notification committed before that heartbeat was sent has been heard (PostgreSQL delivers
 * a connection's pending notifications before the answer to its next query). Closed, every
 * request reads the database as if there were no cache.
 */
export class Freshness {
  private current = 0;
  /** When the newest heartbeat that has been answered was sent; null while not listening. */
  private heardUpTo: number | null = null;
  private readonly caches: Array<{ clear(): void }> = [];
  /** Holders of state that only one table feeds (signing keys), reloaded when it changes. */
  private readonly watchers = new Map<string, Array<() => void>>();

  /**
   * How old the newest answered heartbeat may be while caches stay open. Under a second, so a
   * change committed elsewhere more than 1 s before a request starts was heard before it starts
   * (its notification is queued before its commit returns, so before any later heartbeat's); the
   * rest tolerates a heartbeat delayed by a loaded machine. Measured on this process's monotonic
   * clock, so no other host's clock (nor a wall-clock step) enters into it.
   */
  static readonly LEASE_MS = 900;

  get generation(): number {
    return this.current;
  }

  /** Whether cached answers may be served now. */
  isOpen(now = performance.now()): boolean {
    return this.heardUpTo !== null && now - this.heardUpTo < Freshness.LEASE_MS;
  }

  /** Taken before a load whose answer would be cached: null when caching is closed. */
  ticket(): number | null {
    return this.isOpen() ? this.current : null;
  }

  /** Whether a load that started with `ticket` may store its answer: nothing was invalidated meanwhile. */
  mayStore(ticket: number | null): boolean {
    return ticket !== null && ticket === this.current && this.isOpen();
  }

  /**
   * Something that feeds cached answers may have changed: forget everything. `changed` names the
   * table another process changed, or `'any'` when changes may have gone unheard; this process's
   * own commits name none, as whatever changed one table tells its holder itself.
   */
  invalidate(changed?: string): void {
    this.current++;
    for (const cache of this.caches) cache.clear();
    if (changed === undefined) return;
    const watchers = changed === 'any' ? [...this.watchers.values()].flat() : (this.watchers.get(changed) ?? []);
    for (const watcher of watchers) watcher();
  }

  attach(cache: { clear(): void }): void {
    this.caches.push(cache);
  }

  /** Calls `reload` when another process changes `table` (or may have, unheard). */
  watch(table: string, reload: () => void): void {
    this.watchers.set(table, [...(this.watchers.get(table) ?? []), reload]);
  }

  /** Every notification committed before `sentAt` (performance.now()) has been heard. */
  heardUntil(sentAt: number): void {
    if (this.heardUpTo === null || sentAt > this.heardUpTo) this.heardUpTo = sentAt;
  }

  /**
   * The listener lost its connection (or has none yet): notifications may be missed from now on,
   * so caches close, and what they hold is dropped now and again when listening resumes.
   */
  deaf(): void {
    this.heardUpTo = null;
    this.invalidate();
  }
}
