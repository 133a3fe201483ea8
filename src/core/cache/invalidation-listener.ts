import { randomUUID } from 'node:crypto';
import { Client, type ClientConfig } from 'pg';
import type { Logger } from '../logger';
import type { Freshness } from './freshness';

/** Where migration 1796544000000's triggers NOTIFY; the payload is the changed table's name. */
export const INVALIDATION_CHANNEL = 'portcullis_access_changed';
/** How the listener's connection shows in pg_stat_activity. */
const LISTENER_APPLICATION_NAME = 'portcullis-invalidation';

/** A heartbeat's payload; the triggers' payloads are table names. */
const HEARTBEAT_PAYLOAD = 'heartbeat:';
/** A probe's payload: under the heartbeat prefix, so other processes' listeners ignore it as a heartbeat not their own. */
const PROBE_PAYLOAD = `${HEARTBEAT_PAYLOAD}probe:`;
/** `wrote:<principal id>`: a principal's mutation, for read-your-writes (db/replica-reads.ts); no table changed. */
export const WROTE_PAYLOAD = 'wrote:';

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
 * LISTEN needs a session of its own: behind a pooler in transaction mode
 * the server connection that ran LISTEN goes back to the pooler's pool, and what other sessions
 * notify reaches it while it serves another client or none (pgbouncer drops it: "got packet 'A'
 * from server when not linked"). Heartbeats may still come back, as the pooler often hands this
 * client that same server connection again for its own NOTIFY. So after LISTEN a probe is notified
 * from another connection and must arrive while this one is idle, as invalidations do; when it
 * does not, the listener treats the connection as lost, caches stay closed (correct, but every
 * check reads the database), and it warns once that DATABASE_DIRECT_URL is needed.
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
  /** The probe this connection waits for, and what to call when it arrives. */
  private probe: { payload: string; heard: () => void } | null = null;
  private warnedNotASession = false;

  constructor(
    private readonly freshness: Freshness,
    private readonly connection: ClientConfig,
    private readonly logger: Logger,
    private readonly principalWrote: (principalId: string) => void = () => undefined,
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
      if (this.probe && payload === this.probe.payload) this.probe.heard();
      else if (payload?.startsWith(WROTE_PAYLOAD)) this.principalWrote(payload.slice(WROTE_PAYLOAD.length));
      else if (!payload?.startsWith(HEARTBEAT_PAYLOAD)) this.freshness.invalidate(payload || 'any');
      else if (processId === this.backendPid) this.heardBeat = Number(payload.slice(HEARTBEAT_PAYLOAD.length));
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      this.backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
      await this.hearProbe();
    } catch (error) {
      if (error instanceof NotASessionError && this.client === client) this.warnNotASession();
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

  /** Notifies a probe from a connection of its own; it must reach this listener, idle meanwhile, within STALLED_MS. */
  private async hearProbe(): Promise<void> {
    const payload = `${PROBE_PAYLOAD}${randomUUID()}`;
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<void>((resolve, reject) => {
      this.probe = { payload, heard: resolve };
      timer = setTimeout(() => reject(new NotASessionError()), STALLED_MS).unref();
    });
    const sender = new Client(this.connection);
    sender.on('error', () => undefined);
    const send = async () => {
      await sender.connect();
      await sender.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, payload]);
    };
    try {
      // Both awaited at once: the timeout may fire while the sender still connects.
      await Promise.all([send(), heard]);
    } finally {
      clearTimeout(timer);
      this.probe = null;
      await sender.end().catch(() => undefined);
    }
  }

  private warnNotASession(): void {
    if (this.warnedNotASession) return;
    this.warnedNotASession = true;
    this.logger.warn(
      'cache invalidation listener: notifications from other connections do not reach its LISTEN connection, ' +
        'as behind a pooler in transaction mode; set DATABASE_DIRECT_URL to a direct connection ' +
        'to PostgreSQL (or a session-mode pool). Until then caches stay bypassed and every check reads the database',
    );
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

/** A probe notified from another connection did not arrive: LISTEN's connection is no session of its own. */
class NotASessionError extends Error {
  constructor() {
    super('a notification from another connection did not arrive');
  }
}
