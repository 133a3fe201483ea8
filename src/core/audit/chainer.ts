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
export const CHAIN_BATCH = 1000;

/** How often each process looks for rows to link, besides the nudge after its own commits. */
const CHAIN_INTERVAL_MS = 200;

/** Waits for the chainer's lock until the transaction ends: nothing is linked meanwhile. */
export async function lockChainer(tx: EntityManager): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [CHAINER_LOCK_ID]);
}

/**
 * Links the oldest unlinked rows the transaction sees (at most a batch; `orgId`: only that org's).
 * The caller holds the chainer's lock. Returns how many it linked.
 */
async function linkBatch(query: Query, orgId?: string): Promise<number> {
  const pending = (await query(
    `SELECT ${AUDIT_RECORD_COLUMNS}
       FROM audit_logs
      WHERE chain_seq IS NULL ${orgId ? 'AND org_id = $1' : ''}
      ORDER BY audit_logs.seq
      LIMIT ${CHAIN_BATCH}`,
    orgId ? [orgId] : [],
  )) as PendingRecord[];
  if (pending.length === 0) return 0;
  const orgIds = [...new Set(pending.map((record) => record.orgId).filter((id): id is string => id !== null))];
  const tails = (await query(
    `SELECT NULL::uuid AS "orgId",
            (SELECT hash FROM audit_logs WHERE org_id IS NULL AND chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1) AS hash
     UNION ALL
     SELECT chains.org_id,
            (SELECT hash FROM audit_logs a
              WHERE a.org_id = chains.org_id AND a.chain_seq IS NOT NULL ORDER BY a.chain_seq DESC LIMIT 1)
       FROM unnest($1::uuid[]) AS chains(org_id)`,
    [orgIds],
  )) as Array<{ orgId: string | null; hash: string | null }>;
  const lastHash = new Map(tails.map(({ orgId: chain, hash }) => [chain, hash]));
  const links = pending.map(({ seq: _seq, chainSeq: _chainSeq, hash: _hash, prevHash: _prevHash, ...content }) => {
    const prevHash = lastHash.get(content.orgId) ?? null;
    const hash = auditRecordHash({ ...content, prevHash });
    lastHash.set(content.orgId, hash);
    return { id: content.id, prevHash, hash };
  });
  // Positions follow the highest given so far: under the lock, nobody else gives one.
  await query(
    `UPDATE audit_logs a
        SET prev_hash = l.prev_hash, hash = l.hash, chain_seq = top.chain_seq + l.position
       FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS l(id, prev_hash, hash, position),
            (SELECT coalesce(max(chain_seq), 0) AS chain_seq FROM audit_logs) AS top
      WHERE a.id = l.id`,
    [links.map((link) => link.id), links.map((link) => link.prevHash), links.map((link) => link.hash)],
  );
  return links.length;
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
      return linkBatch(managerQuery(tx));
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
 * The per-process chainer: every CHAIN_INTERVAL_MS, and right after a local transaction that
 * appended audit rows commits, it links what is pending, if no other process is doing so. It uses
 * a connection of its own (outside the request pool and its statement counter).
 */
export class AuditChainer {
  private readonly pool: Pool;
  private readonly timer: NodeJS.Timeout;
  private readonly subscriber: EntitySubscriberInterface;
  private running: Promise<void> | null = null;
  private again = false;
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
    this.timer = setInterval(() => this.nudge(), CHAIN_INTERVAL_MS);
    this.timer.unref();
  }

  /** Links what is pending soon; calls while a pass runs make one more pass after it. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.passes().finally(() => {
      this.running = null;
    });
  }

  /** Stops the timer, lets the current pass finish, links once more what this process committed, closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.db.subscribers.splice(this.db.subscribers.indexOf(this.subscriber), 1);
    await this.running;
    await this.pass().catch((error: unknown) => this.logger.warn({ err: error }, 'audit chainer: last pass failed'));
    await this.pool.end();
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      await this.pass().catch((error: unknown) => this.logger.warn({ err: error }, 'audit chainer: pass failed'));
    } while (this.again && !this.stopped);
  }

  /** Links batches until none is left or another process holds the lock. */
  private async pass(): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      const query: Query = async (sql, params) => (await client.query(sql, params)).rows;
      const [{ pending }] = await query('SELECT EXISTS (SELECT 1 FROM audit_logs WHERE chain_seq IS NULL) AS pending');
      if (!pending) return;
      for (;;) {
        const linked = await inTransaction(client, async () => {
          const [{ locked }] = await query('SELECT pg_try_advisory_xact_lock($1) AS locked', [CHAINER_LOCK_ID]);
          return locked ? linkBatch(query) : 0;
        });
        if (linked < CHAIN_BATCH) return;
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
