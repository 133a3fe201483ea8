import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { Config } from '../config/config';
import { dataSourceOptions } from './database';
import { pgPool, poolConnection } from './pg-pool';
import type { SqlStatementCounter } from './sql-statement-counter';

/** A check that cannot get a connection this fast is skipped: the sample would be late anyway. */
const CHECK_CONNECT_TIMEOUT_MS = 1_000;

/**
 * A one-connection pool for the checks, beside the request pool of the same server: with requests
 * queued for every pooled connection, the samples would wait behind them, every replica would age
 * out, and the reads would all move to the busy primary just when it needs them off.
 */
export function checkPool(server: DataSource): Pool {
  const pool = new Pool({ ...poolConnection(server), max: 1, connectionTimeoutMillis: CHECK_CONNECT_TIMEOUT_MS });
  pool.on('error', () => undefined);
  return pool;
}

/** A write-ahead log position ("16/B374D848") as a number that orders like the log. */
export function parseLsn(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** The primary's log position at a moment (performance.now()): every commit before it lies at or below. */
export type PrimarySample = { at: number; lsn: bigint };

/**
 * One streaming replica: a read-only DataSource, and how fresh what it serves is. Freshness is the
 * moment of the newest primary sample the replica has replayed up to: it has every transaction
 * committed before that moment. Comparing log positions rather than pg_last_xact_replay_timestamp()
 * keeps an idle primary's replica fresh (the replay timestamp stands still when nothing is written,
 * so its age grows without any lag).
 */
export class Replica {
  /** When the newest primary sample this replica had replayed was taken; null: not usable. */
  private replayedUpTo: number | null = null;
  /** Why the replica was last found unusable: an error code, or that it is not in recovery. */
  skippedFor: string | null = null;
  private checking = false;
  private closed = false;
  /** The checks' own connection (checkPool), made with the request pool. */
  private checks: Pool | null = null;

  private constructor(
    readonly index: number,
    readonly dataSource: DataSource,
  ) {}

  /**
   * The replica's pool, connected by the first check that reaches it (so a gateway starts with a
   * replica down). Statements never fail because of it: a connection the replica does not give
   * (down, starting, refusing) is taken from the primary's pool instead, and the replica is
   * skipped until its next check succeeds.
   */
  static create(config: Config, index: number, primary: DataSource, statements: SqlStatementCounter): Replica {
    // No `options` startup parameter (such as default_transaction_read_only): pgbouncer refuses
    // the connection for it, and a hot standby refuses writes anyway (`check` skips a server that
    // is not in recovery).
    const options = dataSourceOptions(config, { url: config.replicas.urls[index] }, statements);
    const replica = new Replica(index, new DataSource({ ...options, migrations: [] } as typeof options));
    const driver = replica.dataSource.driver as PostgresDriver;
    const fromReplica = driver.obtainMasterConnection.bind(driver);
    const fromPrimary = () => (primary.driver as PostgresDriver).obtainMasterConnection();
    driver.obtainMasterConnection = () =>
      fromReplica().catch((error: unknown) => {
        replica.skip(errorCodeOf(error));
        return fromPrimary();
      });
    return replica;
  }

  /** How far behind the primary the replica's reads may be now, in ms; null when unknown or down. */
  lagMs(now = performance.now()): number | null {
    return this.replayedUpTo === null ? null : now - this.replayedUpTo;
  }

  /**
   * Reads the replica's replay position and matches it to the primary's samples (oldest first,
   * taken before this call). Overlapping checks are skipped: a replica that stopped answering keeps
   * its last answer, which ages past REPLICA_MAX_LAG on its own.
   */
  async check(samples: readonly PrimarySample[]): Promise<void> {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      if (!this.dataSource.isInitialized) {
        await this.dataSource.initialize();
        // Closed while connecting: nothing else will end this pool.
        if (this.closed) return await this.dataSource.destroy();
      }
      // Not through the DataSource, whose primary fallback above must not answer for the replica.
      this.checks ??= checkPool(this.dataSource);
      const { rows } = await this.checks.query<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn');
      const lsn = rows[0]?.lsn;
      // NULL: the server is not in recovery (a promoted replica, or a primary listed by mistake).
      if (!lsn) return this.skip('not_in_recovery');
      const replayed = parseLsn(lsn);
      const covered = samples.filter((sample) => sample.lsn <= replayed).at(-1);
      if (covered && (this.replayedUpTo === null || covered.at > this.replayedUpTo)) this.replayedUpTo = covered.at;
      this.skippedFor = null;
    } catch (error) {
      this.skip(errorCodeOf(error));
    } finally {
      this.checking = false;
    }
  }

  /** Whether reads wait for one of its connections now. */
  queueing(): boolean {
    return this.dataSource.isInitialized && pgPool(this.dataSource).waitingCount > 0;
  }

  skip(reason: string): void {
    this.replayedUpTo = null;
    this.skippedFor = reason;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.checks?.end();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * A failure's code (a SQLSTATE such as 28P01, or node's ECONNREFUSED), the only part of it logged:
 * a driver's message may name the host, the user or the database of the replica's URL.
 */
function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code) ? code : 'unknown';
}
