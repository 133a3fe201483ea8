import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import { checkPool, parseLsn, Replica, type PrimarySample } from './replica';
import type { SqlStatementCounter } from './sql-statement-counter';

/** Often enough that a healthy replica stays well within a REPLICA_MAX_LAG of 1 s. */
const CHECK_MS = 250;

/**
 * The streaming replicas of DATABASE_REPLICA_URLS, checked every CHECK_MS. Each tick first reads
 * the primary's log position, then each replica's replay position; a replica serves only while it
 * has replayed a primary position read at most REPLICA_MAX_LAG ago. A replica that does not answer
 * stops advancing and so ages out on its own, as do all of them when the primary does not answer.
 */
export class ReplicaSet {
  private samples: PrimarySample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;
  private next = 0;
  /** Which replicas served at the last check (undefined before the first), to log only changes. */
  private serving: Array<boolean | undefined>;
  private readonly primaryChecks: Pool;

  private constructor(
    primary: DataSource,
    private readonly replicas: readonly Replica[],
    private readonly maxLagMs: number,
    private readonly logger: Logger,
  ) {
    this.serving = replicas.map(() => undefined);
    this.primaryChecks = checkPool(primary);
  }

  /** Starts checking the replicas, which connect in the background: none needs to be up. */
  static open(config: Config, primary: DataSource, statements: SqlStatementCounter, logger: Logger): ReplicaSet {
    const replicas = [...config.replicas.urls.keys()].map((index) =>
      Replica.create(config, index, primary, statements),
    );
    const set = new ReplicaSet(primary, replicas, config.replicas.maxLag * 1000, logger);
    if (replicas.length > 0) {
      logger.info({ replicas: replicas.length, maxLagSeconds: config.replicas.maxLag }, 'read replicas configured');
      set.timer = setInterval(() => void set.tick(), CHECK_MS).unref();
      void set.tick();
    }
    return set;
  }

  get size(): number {
    return this.replicas.length;
  }

  /** The next replica, round robin, among those within REPLICA_MAX_LAG; null: read the primary. */
  pick(now = performance.now()): DataSource | null {
    for (let tried = 0; tried < this.replicas.length; tried++) {
      const replica = this.replicas[(this.next + tried) % this.replicas.length];
      if (this.serves(replica, now)) {
        this.next = (replica.index + 1) % this.replicas.length;
        return replica.dataSource;
      }
    }
    return null;
  }

  /**
   * Within REPLICA_MAX_LAG, and with a connection free or to be opened: a read queued behind a busy
   * replica pool would wait its connect timeout before falling back to the primary.
   */
  private serves(replica: Replica, now: number): boolean {
    const lag = replica.lagMs(now);
    return lag !== null && lag <= this.maxLagMs && !replica.queueing();
  }

  private async tick(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const at = performance.now();
      // The write position as of `at` or later: every commit that returned before `at` lies at or
      // below it (with synchronous_commit on, the default, a commit returns once its WAL is written).
      const { rows } = await this.primaryChecks.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      this.samples.push({ at, lsn: parseLsn(rows[0].lsn) });
      // Only samples within the allowed lag can make a replica usable.
      this.samples = this.samples.filter((sample) => at - sample.at <= this.maxLagMs + CHECK_MS);
    } catch {
      // The primary does not answer: no new sample, so the replicas age out.
      return;
    } finally {
      this.sampling = false;
    }
    await Promise.all(this.replicas.map((replica) => replica.check(this.samples)));
    this.logChanges();
  }

  /** Replicas are named by their place in DATABASE_REPLICA_URLS: a URL may hold a password. */
  private logChanges(now = performance.now()): void {
    for (const replica of this.replicas) {
      const serving = this.serves(replica, now);
      if (serving === this.serving[replica.index]) continue;
      this.serving[replica.index] = serving;
      const fields = { replica: replica.index + 1, lagMs: replica.lagMs(now) };
      if (serving) this.logger.info(fields, 'read replica serving');
      else {
        const reason = replica.skippedFor ?? 'lag';
        this.logger.warn({ ...fields, reason }, 'read replica skipped: unreachable or lagging beyond REPLICA_MAX_LAG');
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.replicas.map((replica) => replica.close()));
    await this.primaryChecks.end();
  }
}
