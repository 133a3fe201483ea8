import type { DataSource } from 'typeorm';
import type { Freshness } from '../cache/freshness';
import { INVALIDATION_CHANNEL, WROTE_PAYLOAD } from '../cache/invalidation-listener';
import { pgPool } from './pg-pool';
import type { ReplicaSet } from './replica-set';

/** Expired entries are dropped once this many principals are remembered (or twice the last survivors). */
const SWEEP_AT = 1_000;

/**
 * Which database a read-only query reads: a replica, unless its principal wrote within
 * READ_YOUR_WRITES_WINDOW — on this process, or on another one, which tells every process with a
 * NOTIFY `wrote:<principal id>` on the invalidation channel before its mutation's answer leaves.
 * Replicas are used only while that channel is heard (Freshness.isOpen): otherwise another
 * process's writes could go unnoticed.
 */
export class ReplicaReads {
  /** Principal id → until when (performance.now()) its reads stay on the primary. */
  private readonly writers = new Map<string, number>();
  private readonly windowMs: number;
  private sweepAt = SWEEP_AT;

  constructor(
    private readonly replicas: ReplicaSet,
    private readonly freshness: Freshness,
    private readonly primary: DataSource,
    readYourWritesWindowSeconds: number,
  ) {
    this.windowMs = readYourWritesWindowSeconds * 1000;
  }

  /**
   * A replica for a read of `principalId`, or null for the primary. Anonymous callers have no
   * writes to wait for: their reads go to a replica too (a sign-in opens the window for the
   * principal it signs in, see `wrote`).
   */
  replicaFor(principalId: string | null, now = performance.now()): DataSource | null {
    if (this.replicas.size === 0 || !this.freshness.isOpen(now)) return null;
    if (principalId !== null && (this.writers.get(principalId) ?? 0) > now) return null;
    return this.replicas.pick(now);
  }

  /**
   * A mutation of these principals has committed (or failed): their next reads, on every process,
   * stay on the primary for the window. Awaited before the mutation's answer is sent, so the
   * notification is on its way before the client can send its next request. A failed
   * notification fails nothing: other processes then read a replica within REPLICA_MAX_LAG.
   */
  async wrote(principalIds: ReadonlySet<string>): Promise<void> {
    if (this.replicas.size === 0) return;
    for (const id of principalIds) this.heard(id);
    await Promise.all(
      [...principalIds].map((id) =>
        pgPool(this.primary)
          .query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, `${WROTE_PAYLOAD}${id}`])
          .catch(() => undefined),
      ),
    );
  }

  /** A principal wrote, here or on another process (the listener hands over its `wrote:` payloads). */
  heard(principalId: string, now = performance.now()): void {
    if (this.replicas.size === 0) return;
    if (this.writers.size >= this.sweepAt) {
      for (const [id, until] of this.writers) if (until <= now) this.writers.delete(id);
      this.sweepAt = Math.max(SWEEP_AT, this.writers.size * 2);
    }
    this.writers.set(principalId, now + this.windowMs);
  }
}
