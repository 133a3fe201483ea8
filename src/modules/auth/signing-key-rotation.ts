import type { DataSource, EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import type { Logger } from '../../core/logger';
import { SigningKeyEntity, SigningKeyStatus } from './signing-key.entity';
import type { SigningKeyStore } from './signing-keys.service';

export type RotationSettings = {
  /** Seconds a key signs before the next takes over. */
  rotation: number;
  /** Seconds the next key is published before it signs. */
  publicationLead: number;
  /** Seconds an access token lives: how long a retired key's tokens may still verify. */
  accessTokenTtl: number;
};

/** Serialises key changes between processes; each statement after it sees the winner's commit. */
const ROTATION_LOCK = `SELECT pg_advisory_xact_lock(hashtext('portcullis.signing_keys'))`;

/** API keys that still work: the key that signed them must stay published. */
const LIVE_API_KEY_SIGNED_BY = `SELECT 1 FROM api_keys a
  WHERE a.signing_kid = k.id AND a.revoked_at IS NULL AND a.status <> 'REVOKED'
    AND (a.expires_at IS NULL OR a.expires_at > now())
    AND (a.status <> 'ROTATING' OR a.grace_ends_at IS NULL OR a.grace_ends_at > now())`;

/**
 * Scheduled rotation, run on a timer by every gateway process, and the `rotateSigningKey`
 * mutation. Every step is decided by the database (conditional inserts, the one-ACTIVE and
 * one-NEXT indexes, an advisory lock), so processes racing each other make each change once.
 * Statements that change nothing are not run: each would NOTIFY every process's caches.
 */
export class SigningKeyRotation {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly keys: SigningKeyStore,
    private readonly settings: RotationSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * Checks now and then every minute, or more often with a short lead (tests, or an operator's
   * choice) so the switch and the retired keys' unpublication keep up with it.
   */
  start(): void {
    const everyMs = Math.min(60_000, Math.max(1_000, (this.settings.publicationLead * 1000) / 5));
    this.timer = setInterval(() => void this.check(), everyMs).unref();
    void this.check();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Slack for a process that signs with a key it has not yet heard was retired (until its next check). */
  private get checkSlackSeconds(): number {
    return 2 * Math.min(60, Math.max(1, this.settings.publicationLead / 5));
  }

  private check(): Promise<void> {
    this.running ??= this.steps()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'signing-key rotation check failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async steps(): Promise<void> {
    await this.publishNextWhenDue();
    await this.switchWhenDue();
    await this.unpublishSpentKeys();
    await this.keys.refresh();
  }

  /** When the ACTIVE key has signed for ROTATION − LEAD and there is no NEXT key, publish one. */
  private async publishNextWhenDue(): Promise<void> {
    const due: unknown[] = await this.db.query(
      `SELECT 1 FROM signing_keys
        WHERE status = 'ACTIVE' AND coalesce(activates_at, created_at) <= now() - make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM signing_keys WHERE status = 'NEXT')`,
      [this.settings.rotation - this.settings.publicationLead],
    );
    if (due.length > 0) await this.insertNext(this.db.manager);
  }

  /** A NEXT key signing from `now() + lead`; losing the race to another process is fine. */
  private async insertNext(manager: EntityManager): Promise<void> {
    const key = await this.keys.generate();
    await manager.query(
      `INSERT INTO signing_keys (id, algorithm, public_jwk, private_jwk_sealed, status, activates_at)
       VALUES ($1, $2, $3, $4, 'NEXT', now() + make_interval(secs => $5))
       ON CONFLICT DO NOTHING`,
      [key.id, key.algorithm, key.publicJwk, key.privateJwkSealed, this.settings.publicationLead],
    );
  }

  /** Once the NEXT key's `activates_at` has passed: ACTIVE → RETIRED and NEXT → ACTIVE, together. */
  private async switchWhenDue(): Promise<void> {
    const due: unknown[] = await this.db.query(
      `SELECT 1 FROM signing_keys WHERE status = 'NEXT' AND activates_at <= now()`,
    );
    if (due.length === 0) return;
    await this.db.transaction(async (tx) => {
      await tx.query(ROTATION_LOCK);
      const [next] = await tx.query<Array<{ id: string }>>(
        `SELECT id FROM signing_keys WHERE status = 'NEXT' AND activates_at <= now()`,
      );
      if (!next) return;
      await tx.query(`UPDATE signing_keys SET status = 'RETIRED', retired_at = now() WHERE status = 'ACTIVE'`);
      await tx.query(`UPDATE signing_keys SET status = 'ACTIVE' WHERE id = $1`, [next.id]);
    });
    this.logger.info('signing key rotated');
  }

  /**
   * A retired key leaves the JWKS once no access token it signed can still be valid and no API
   * key it signed still works. The row stays: audit checkpoints it signed verify with it forever.
   */
  private async unpublishSpentKeys(): Promise<void> {
    const spent = await this.db.query<Array<{ id: string }>>(
      `SELECT k.id FROM signing_keys k
        WHERE k.status = 'RETIRED' AND k.unpublished_at IS NULL
          AND k.retired_at <= now() - make_interval(secs => $1)
          AND NOT EXISTS (${LIVE_API_KEY_SIGNED_BY})`,
      [this.settings.accessTokenTtl + this.checkSlackSeconds],
    );
    if (spent.length === 0) return;
    await this.db.query(
      `UPDATE signing_keys k SET unpublished_at = now()
        WHERE k.id = ANY($1) AND k.unpublished_at IS NULL AND NOT EXISTS (${LIVE_API_KEY_SIGNED_BY})`,
      [spent.map((row) => row.id)],
    );
  }

  /**
   * `rotateSigningKey`, with the caller's transaction. Not immediate: publishes a NEXT key now (or
   * keeps the one already published), which signs after the lead. Immediate (a compromised key):
   * a new key signs at once, and the ACTIVE and any NEXT key are retired and unpublished at once,
   * so nothing they signed verifies any more.
   */
  async rotate(tx: EntityManager, actor: AuditActor, immediate: boolean): Promise<SigningKeyEntity> {
    await tx.query(ROTATION_LOCK);
    const repository = tx.getRepository(SigningKeyEntity);
    const previous = await repository.findOneByOrFail({ status: SigningKeyStatus.ACTIVE });
    let newKid: string;
    if (immediate) {
      const key = await this.keys.generate();
      await tx.query(
        `UPDATE signing_keys SET status = 'RETIRED', retired_at = now(), unpublished_at = now()
          WHERE status IN ('ACTIVE', 'NEXT')`,
      );
      await repository.insert({ ...key, status: SigningKeyStatus.ACTIVE });
      newKid = key.id;
    } else {
      if (!(await repository.existsBy({ status: SigningKeyStatus.NEXT }))) await this.insertNext(tx);
      newKid = (await repository.findOneByOrFail({ status: SigningKeyStatus.NEXT })).id;
    }
    await recordAudit(tx, actor, {
      action: 'signing_key.rotated',
      targetType: 'SigningKey',
      targetId: newKid,
      changes: { immediate, newKid, previousKid: previous.id },
    });
    return repository.findOneByOrFail({ id: newKid });
  }
}
