import { performance } from 'node:perf_hooks';
import { Pool, type PoolClient } from 'pg';
import type { DataSource, EntityManager, EntitySubscriberInterface } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import type { Logger } from '../logger';
import { AUDIT_RECORD_COLUMNS, auditRecordHash, type HashedAuditContent } from './audit-hash';

/**
 * The chainer links committed audit records into their hash chains (docs/audit.md, "Chains").
 * Writers append rows with no hash and no position, taking no lock, so writers of one org commit
 * concurrently; the chainer then gives each committed row, oldest insert first, the next position
 * (`chain_seq`) and the hash over its content and its chain's last hash. A row that commits late is
 * simply linked later. Only the holder of one advisory lock links, so there is one chainer at a
 * time across every process, and each batch is one transaction: a crash links all of it or none.
 */

type Query = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;
type PendingRecord = HashedAuditContent & { seq: string; chainSeq: string | null; hash: string | null };

/** Any fixed number shared by every Portcullis process: whoever holds it links. */
const CHAINER_LOCK_ID = 7_281_930_115;

/** Rows linked per transaction. */
const CHAIN_BATCH = 1000;

/** A pass starts at most this often, so the passes that a stream of audited commits asks for coalesce. */
const PASS_GAP_MS = 300;

/** How often each process looks for rows nobody asked it to link (another process's, left by a crash). */
const POLL_INTERVAL_MS = 500;

/** Waits for the chainer's lock until the transaction ends: nothing is linked meanwhile. */
export async function lockChainer(tx: EntityManager): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [CHAINER_LOCK_ID]);
}

type PendingRow = Partial<PendingRecord> & { locked: boolean; chainTail: string | null; top: string };

/**
 * Links the oldest unlinked rows the transaction sees (at most a batch; `orgId`: only that org's)
 * if it gets the chainer's lock, in two statements: one takes the lock and reads the pending rows
 * with their chains' last hashes, one links them all. Returns how many it linked, or null when
 * another process holds the lock.
 */
async function linkBatch(query: Query, orgId?: string): Promise<number | null> {
  const rows = (await query(
    `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS locked),
     pending AS (
       SELECT ${AUDIT_RECORD_COLUMNS}
         FROM audit_logs
        WHERE chain_seq IS NULL AND (SELECT locked FROM lock) ${orgId ? 'AND org_id = $2' : ''}
        ORDER BY audit_logs.seq
        LIMIT ${CHAIN_BATCH}),
     tails AS (
       SELECT chains."orgId",
              CASE WHEN chains."orgId" IS NULL
                THEN (SELECT hash FROM audit_logs
                       WHERE org_id IS NULL AND chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1)
                ELSE (SELECT hash FROM audit_logs a
                       WHERE a.org_id = chains."orgId" AND a.chain_seq IS NOT NULL ORDER BY a.chain_seq DESC LIMIT 1)
              END AS hash
         FROM (SELECT DISTINCT "orgId" FROM pending) AS chains)
     SELECT lock.locked, pending.*, tails.hash AS "chainTail",
            (SELECT coalesce(max(chain_seq), 0)::text FROM audit_logs) AS top
       FROM lock
       LEFT JOIN pending ON TRUE
       LEFT JOIN tails ON tails."orgId" IS NOT DISTINCT FROM pending."orgId"
      ORDER BY pending.seq::bigint`,
    orgId ? [CHAINER_LOCK_ID, orgId] : [CHAINER_LOCK_ID],
  )) as PendingRow[];
  if (!rows[0].locked) return null;
  const pending = rows.filter((row): row is PendingRow & PendingRecord => row.id != null);
  if (pending.length === 0) return 0;
  const lastHash = new Map<string | null, string | null>();
  const links = pending.map(
    ({
      locked: _locked,
      top: _top,
      chainTail,
      seq: _seq,
      chainSeq: _chainSeq,
      hash: _hash,
      prevHash: _prevHash,
      ...content
    }) => {
      const prevHash = lastHash.has(content.orgId) ? (lastHash.get(content.orgId) ?? null) : chainTail;
      const hash = auditRecordHash({ ...content, prevHash });
      lastHash.set(content.orgId, hash);
      return { id: content.id, prevHash, hash };
    },
  );
  // The read's snapshot may predate the lock: had another chainer committed links in between, the
  // highest position would have moved (retention never removes the newest linked record), and
  // those last hashes could be stale. Then nothing is linked and the transaction rolls back.
  // Positions follow the highest given so far: under the lock, nobody else gives one.
  const [{ linked }] = (await query(
    `WITH linked AS (
       UPDATE audit_logs a
          SET prev_hash = l.prev_hash, hash = l.hash, chain_seq = top.chain_seq + l.position
         FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS l(id, prev_hash, hash, position),
              (SELECT coalesce(max(chain_seq), 0) AS chain_seq FROM audit_logs) AS top
        WHERE a.id = l.id AND a.chain_seq IS NULL AND top.chain_seq = $4::bigint
        RETURNING 1)
     SELECT count(*)::int AS linked FROM linked`,
    [links.map((link) => link.id), links.map((link) => link.prevHash), links.map((link) => link.hash), rows[0].top],
  )) as Array<{ linked: number }>;
  if (linked !== links.length) throw new Error('audit chainer: records were linked meanwhile; linking nothing');
  return linked;
}

const managerQuery =
  (tx: EntityManager): Query =>
  (sql, params) =>
    tx.query(sql, params);

/**
 * Links every record committed before the call, waiting for the lock if another chainer holds it:
 * what verification and export run first, so they cover everything committed before they started.
 */
export async function linkCommittedRecords(db: DataSource): Promise<void> {
  for (;;) {
    const linked = await db.transaction(async (tx) => {
      await lockChainer(tx);
      return (await linkBatch(managerQuery(tx))) ?? 0;
    });
    if (linked < CHAIN_BATCH) return;
  }
}

/**
 * Links an org's records within the caller's transaction, its own uncommitted ones included, and
 * keeps the lock until it ends: how a deleted org's last record gets its place before its seal.
 */
export async function linkOrgInTransaction(tx: EntityManager, orgId: string): Promise<void> {
  await lockChainer(tx);
  while ((await linkBatch(managerQuery(tx), orgId)) === CHAIN_BATCH);
}

/** Set on a transaction that appended audit rows, so its commit wakes the chainer at once. */
const APPENDED = 'auditAppended';

export function markAuditAppended(tx: EntityManager): void {
  if (tx.queryRunner) tx.queryRunner.data[APPENDED] = true;
}

/**
 * The per-process chainer. A local transaction that appended audit rows asks for a pass when it
 * commits; those requests coalesce, a pass starting at most every PASS_GAP_MS and linking
 * everything pending, whoever wrote it. With nothing asked for, it looks every POLL_INTERVAL_MS
 * (one statement). It uses a connection of its own (outside the request pool and its statement
 * counter).
 */
export class AuditChainer {
  private readonly pool: Pool;
  private readonly subscriber: EntitySubscriberInterface;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private running: Promise<void> | null = null;
  private lastPassAt = performance.now();
  /** A local commit appended rows, or the last pass left some (lock held elsewhere, batch full). */
  private workKnown = false;
  private stopped = false;

  constructor(
    private readonly db: DataSource,
    private readonly logger: Logger,
  ) {
    // As the request pool: a database that does not answer fails a pass within seconds instead of
    // hanging it (and the shutdown that waits for it); keep-alive finds cut connections.
    this.pool = new Pool({
      ...connectionOf(db.options as PostgresDataSourceOptions),
      max: 1,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    // An idle connection the server ends emits on the pool, a checked-out one on itself.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.subscriber = {
      afterTransactionCommit: ({ queryRunner }) => {
        if (!queryRunner.data[APPENDED]) return;
        queryRunner.data[APPENDED] = false;
        this.nudge();
      },
    };
    db.subscribers.push(this.subscriber);
    this.schedule();
  }

  /** Links what is pending soon: at once if no pass started in the last PASS_GAP_MS. */
  nudge(): void {
    this.workKnown = true;
    this.schedule();
  }

  /** Stops the timer, lets the current pass finish, links once more what this process committed, closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.db.subscribers.splice(this.db.subscribers.indexOf(this.subscriber), 1);
    await this.running;
    await this.pass().catch((error: unknown) => this.logger.warn({ err: error }, 'audit chainer: last pass failed'));
    await this.pool.end();
  }

  /** Sets the timer for the next pass: a gap after the last one if work is known, a poll otherwise. */
  private schedule(): void {
    if (this.stopped || this.running) return; // the running pass schedules the next one when it ends
    const due = this.lastPassAt + (this.workKnown ? PASS_GAP_MS : POLL_INTERVAL_MS);
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.startPass(), Math.max(0, due - performance.now()));
    this.timer.unref();
  }

  private startPass(): void {
    this.timer = null;
    this.timerDue = Infinity;
    this.lastPassAt = performance.now();
    this.workKnown = false;
    this.running = this.pass()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'audit chainer: pass failed'))
      .finally(() => {
        this.running = null;
        this.schedule();
      });
  }

  /**
   * Links batches until none is left, each in a transaction of two statements (one when nothing is
   * pending or another process holds the lock, which then counts as work left for the next pass).
   */
  private async pass(): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      const query: Query = async (sql, params) => (await client.query(sql, params)).rows;
      for (;;) {
        const linked = await inTransaction(client, () => linkBatch(query));
        if (linked === null) this.workKnown = true;
        if (linked !== CHAIN_BATCH) return;
      }
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

async function inTransaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The chainer's own connection goes where TypeORM's do. */
function connectionOf(options: PostgresDataSourceOptions) {
  return {
    connectionString: options.url,
    host: options.host,
    port: options.port,
    user: options.username,
    password: options.password as string | undefined,
    database: options.database,
    ssl: options.ssl as boolean | undefined,
  };
}
