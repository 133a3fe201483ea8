import { Client, type ClientConfig, type Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { pgPool } from '../db/pg-pool';
import type { Logger } from '../logger';
import type { Freshness } from './freshness';

/** Where migration 1796544000000's triggers NOTIFY; the payload is the changed table's name. */
export const INVALIDATION_CHANNEL = 'portcullis_access_changed';
/** How the listener's connection shows in pg_stat_activity. */
const LISTENER_APPLICATION_NAME = 'portcullis-invalidation';

/** A heartbeat's payload; the triggers' payloads are table names. */
const HEARTBEAT_PAYLOAD = 'heartbeat:';

/** Often enough that a healthy listener keeps Freshness.LEASE_MS with room to spare. */
const HEARTBEAT_MS = 150;
/** A heartbeat unanswered this long means a dead connection (a cut network sends no error). */
const STALLED_MS = 3_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/**
 * One LISTEN connection per process, outside TypeORM's pool (and its statement counter): every
 * notification invalidates this process's caches, and its heartbeats keep them open (Freshness).
 * A heartbeat is a NOTIFY on the same channel that must come back to this very connection before
 * its answer does, so it proves the whole path, not just that the server answers. Lost, the
 * listener reconnects with backoff, caches closed meanwhile.
 *
 * LISTEN needs a session of its own: behind a pooler in transaction mode (pgbouncer's default)
 * notifications go to whichever server connection ran LISTEN, not to this client. Heartbeats then
 * do not come back and caches stay closed (correct, but every call reads the database), so this
 * connection must reach PostgreSQL directly or through a session-mode pool.
 */
export class InvalidationListener {
  private client: Client | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private beatSentAt: number | null = null;
  private beats = 0;
  /** The last heartbeat this connection heard back. */
  private heardBeat = -1;
  /** The server process of this connection: heartbeats from other processes' listeners are not its own. */
  private backendPid: number | null = null;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;

  constructor(
    private readonly freshness: Freshness,
    private readonly connection: ClientConfig,
    private readonly logger: Logger,
  ) {}

  /** Connects in the background; caches stay closed until the first heartbeat is answered. */
  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.drop();
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    this.retry = null;
    if (this.stopped) return;
    const client = new Client({ ...this.connection, application_name: LISTENER_APPLICATION_NAME });
    this.client = client;
    client.on('notification', ({ processId, payload }) => {
      if (!payload?.startsWith(HEARTBEAT_PAYLOAD)) this.freshness.invalidate(payload || 'any');
      else if (processId === this.backendPid) this.heardBeat = Number(payload.slice(HEARTBEAT_PAYLOAD.length));
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      this.backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return;
    // Whatever was cached before is dropped: changes made while nobody listened went unheard.
    this.freshness.invalidate('any');
    this.retryMs = RETRY_MIN_MS;
    this.heartbeat = setInterval(() => this.beat(client), HEARTBEAT_MS).unref();
    this.beat(client);
  }

  private beat(client: Client): void {
    const now = performance.now();
    if (this.beatSentAt !== null) {
      if (now - this.beatSentAt > STALLED_MS) this.lost(client, new Error('heartbeat unanswered'));
      return;
    }
    this.beatSentAt = now;
    const beat = ++this.beats;
    client.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, `${HEARTBEAT_PAYLOAD}${beat}`]).then(
      () => {
        if (this.client !== client) return;
        // Its own notification arrives before its answer; a connection that did not hear it is not listening.
        if (this.heardBeat !== beat) return;
        this.beatSentAt = null;
        this.freshness.heardUntil(now);
      },
      (error: unknown) => this.lost(client, error),
    );
  }

  private lost(client: Client, error: unknown): void {
    if (this.client !== client) return;
    this.drop();
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    // Only the message: a connection error can carry the connection string's parts in its fields.
    const reason = error instanceof Error ? error.message : 'connection ended';
    this.logger.warn({ reason, retryInMs: this.retryMs }, 'cache invalidation listener lost; caches bypassed');
    this.retry = setTimeout(() => void this.connect(), this.retryMs).unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private drop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.beatSentAt = null;
    this.client = null;
    this.freshness.deaf();
  }
}

/**
 * The connection TypeORM's pool opens, for a client of its own. pg-pool keeps the password as a
 * non-enumerable property (out of logs), so it is copied by name: the embedded server needs it.
 */
export function poolConnection(dataSource: DataSource): ClientConfig {
  const { options } = pgPool(dataSource) as Pool & { options: ClientConfig };
  return { ...options, password: options.password };
}
