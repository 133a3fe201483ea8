import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { pgPool } from '../db/pg-pool';

/** How long a scrape waits for the count before answering with the last one. */
const SCRAPE_WAIT_MS = 1_000;
/** Scrapes within this long reuse the last count: however often Prometheus asks, one COUNT per interval. */
const SESSION_COUNT_TTL_MS = 5_000;

/**
 * Gauges read when scraped: sessions still usable (one COUNT, cached) and this process's database
 * pool. Every process counts the same sessions, so the cluster aggregate takes the maximum rather
 * than the sum; pools are per process, so theirs add up.
 */
export function registerStateGauges(registry: Registry, db: DataSource): void {
  const countSessions = cachedFor(SESSION_COUNT_TTL_MS, async () => {
    const [{ count }] = await db.query(
      'SELECT count(*)::int AS count FROM sessions WHERE revoked_at IS NULL AND expires_at > now()',
    );
    return count as number;
  });
  new Gauge({
    name: 'portcullis_sessions_active',
    help: 'Sessions neither revoked nor expired (counted at most every 5 s)',
    aggregator: 'max',
    registers: [registry],
    async collect() {
      // A slow or unavailable database must not hold up or fail the scrape (nor, in a cluster, the
      // primary's 5 s wait for every worker): the gauge keeps its last value while the count goes on.
      const count = await within(SCRAPE_WAIT_MS, countSessions()).catch(() => null);
      if (count !== null) this.set(count);
    },
  });
  new Gauge({
    name: 'portcullis_db_pool_connections',
    help: "Connections of this process's database pool: idle, in use, and requests waiting for one",
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const pool = pgPool(db);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}

/** The value, or null if it takes longer than `ms`. */
function within<T>(ms: number, value: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([value, late]).finally(() => clearTimeout(timer));
}

/** One read shared by every caller within `ttlMs` of the last one started. */
function cachedFor<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (last === null || Date.now() - last.at >= ttlMs) {
      const value = read();
      last = { at: Date.now(), value };
      // A failed read is not kept: the next scrape tries again.
      value.catch(() => {
        if (last?.value === value) last = null;
      });
    }
    return last.value;
  };
}
