import { randomUUID } from 'node:crypto';
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { DataSource, EntityManager } from 'typeorm';
import { Freshness } from '../../core/cache/freshness';
import { SecretBox } from '../../core/crypto/secret-box';
import { SigningKeyEntity, SigningKeyStatus } from './signing-key.entity';

export const SIGNING_ALGORITHM = 'ES256';

type ActiveKey = { kid: string; privateKey: CryptoKey };

/** With caching closed, how long keys read from the database serve before being read again. */
const CLOSED_RING_MAX_AGE_MS = 1_000;

/** A key that may sign: NEXT only from `activatesAt` (ms, on the database's clock). */
type Signer = ActiveKey & { activatesAt: number | null };

type KeyRing = {
  /** Every key ever made: audit checkpoints verify with retired, unpublished keys too. */
  publicKeys: Map<string, { key: CryptoKey; published: boolean }>;
  jwks: JWK[];
  active: Signer;
  next: Signer | null;
  /** The database's clock minus this process's, so every process reads `activatesAt` alike. */
  clockOffsetMs: number;
};

type KeyRow = {
  id: string;
  status: SigningKeyStatus;
  publicJwk: JWK;
  sealed: string | null;
  activatesAt: Date | null;
  published: boolean;
  dbNow: Date;
};

/** The columns a new key is inserted with; its status and `activates_at` are the caller's. */
export type NewKeyRow = Pick<SigningKeyEntity, 'id' | 'algorithm' | 'publicJwk' | 'privateJwkSealed'>;

/**
 * The gateway's token-signing keys, read from the database: the ACTIVE key signs until a NEXT
 * key's `activates_at` passes (whichever process switches their statuses, see
 * signing-key-rotation.ts), and only published keys verify tokens. Private parts are stored sealed
 * with SECRET_KEY.
 *
 * What this process holds is reloaded when another process changes signing_keys (heard through
 * LISTEN), after this process changes them (refresh), and on the rotation timer. While the listener
 * cannot vouch for having heard everything (caching closed), what is held serves for at most
 * CLOSED_RING_MAX_AGE_MS before a verification reads it again, so a key retired at once stops
 * verifying everywhere within the freshness rule, at one statement per second at most.
 */
export class SigningKeyStore {
  private readonly box: SecretBox;
  private ring: KeyRing | null = null;
  /** When (performance.now()) the load that produced `ring` started. */
  private ringLoadedAt = 0;
  private loading: Promise<KeyRing> | null = null;
  private loadsStarted = 0;
  private loadApplied = 0;
  /** The ring serves only once a load numbered this or later applied: set when keys changed elsewhere. */
  private neededLoad = 0;
  /** Keys never change once stored, so each is imported (and opened) once. */
  private readonly imported = new Map<string, CryptoKey>();

  constructor(
    private readonly dataSource: DataSource,
    secretKey: string,
    private readonly freshness = new Freshness(),
  ) {
    this.box = new SecretBox(secretKey, 'signing-keys');
    // Eagerly, so signing (synchronous) moves to a new key as soon as this process hears of it; a
    // failed load is retried by the rotation timer. Other tables' changes never cost a reload.
    freshness.watch('signing_keys', () => {
      // Until the keys are read again, verifications wait for that read instead of trusting what
      // is held: a key retired at once must not verify, nor be cached as having verified.
      this.neededLoad = this.loadsStarted + 1;
      void this.reload(false).catch(() => undefined);
    });
  }

  /** Loads the keys, creating the first one on first start; safe when two processes start at once. */
  async initialize(): Promise<void> {
    const repository = this.dataSource.getRepository(SigningKeyEntity);
    const existing = await repository.exists({ where: { status: SigningKeyStatus.ACTIVE } });
    if (!existing) {
      await repository
        .createQueryBuilder()
        .insert()
        .values({ ...(await this.generate()), status: SigningKeyStatus.ACTIVE })
        .orIgnore()
        .execute();
    }
    await this.refresh();
  }

  /** A fresh key pair, its private half sealed, ready to insert. */
  async generate(): Promise<NewKeyRow> {
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
    const kid = randomUUID();
    return {
      id: kid,
      algorithm: SIGNING_ALGORITHM,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' },
      privateJwkSealed: await this.box.seal(JSON.stringify(await exportJWK(privateKey))),
    };
  }

  /** Reads the keys again, e.g. right after this process changed them: a load already under way may predate that. */
  async refresh(): Promise<void> {
    await this.reload(false);
  }

  /**
   * Verifications that find the ring too old share the load under way; a change (`share` off)
   * starts a load of its own, as one under way may have read the table before it.
   */
  private reload(share = true): Promise<KeyRing> {
    if (share && this.loading) return this.loading;
    const order = ++this.loadsStarted;
    const startedAt = performance.now();
    const promise = this.load(this.dataSource.manager).then((ring) => {
      // A slower, older load must not replace what a newer one found.
      if (order > this.loadApplied) {
        const replaced = this.ring !== null;
        this.loadApplied = order;
        this.ring = ring;
        this.ringLoadedAt = startedAt;
        // Verified tokens cached against the previous keys (a key may have been retired at once)
        // must not outlive them, nor may a verification under way store its answer.
        if (replaced) this.freshness.invalidate();
      }
      return this.ring ?? ring;
    });
    this.loading = promise;
    const done = () => {
      if (this.loading === promise) this.loading = null;
    };
    promise.then(done, done);
    return promise;
  }

  private async current(): Promise<KeyRing> {
    const fresh = this.freshness.isOpen() || performance.now() - this.ringLoadedAt < CLOSED_RING_MAX_AGE_MS;
    if (this.ring && fresh && this.loadApplied >= this.neededLoad) return this.ring;
    return this.reload();
  }

  private async load(manager: EntityManager): Promise<KeyRing> {
    const rows: KeyRow[] = await manager.query(
      `SELECT id, status, public_jwk AS "publicJwk", activates_at AS "activatesAt", now() AS "dbNow",
              unpublished_at IS NULL AS published,
              CASE WHEN status IN ('ACTIVE', 'NEXT') THEN private_jwk_sealed END AS sealed
         FROM signing_keys ORDER BY created_at`,
    );
    const activeRow = rows.find((row) => row.status === SigningKeyStatus.ACTIVE);
    if (!activeRow) throw new Error('no active signing key');
    const nextRow = rows.find((row) => row.status === SigningKeyStatus.NEXT);
    const publicKeys: KeyRing['publicKeys'] = new Map();
    for (const row of rows) {
      publicKeys.set(row.id, { key: await this.importPublic(row), published: row.published });
    }
    return {
      publicKeys,
      jwks: rows.filter((row) => row.published).map((row) => row.publicJwk),
      active: await this.signer(activeRow),
      next: nextRow ? await this.signer(nextRow) : null,
      clockOffsetMs: new Date(activeRow.dbNow).getTime() - Date.now(),
    };
  }

  private async importPublic(row: KeyRow): Promise<CryptoKey> {
    const known = this.imported.get(`public:${row.id}`);
    if (known) return known;
    const key = (await importJWK(row.publicJwk, SIGNING_ALGORITHM)) as CryptoKey;
    this.imported.set(`public:${row.id}`, key);
    return key;
  }

  private async signer(row: KeyRow): Promise<Signer> {
    const activatesAt = row.activatesAt ? new Date(row.activatesAt).getTime() : null;
    const known = this.imported.get(`private:${row.id}`);
    if (known) return { kid: row.id, privateKey: known, activatesAt };
    if (!row.sealed) throw new Error(`signing key ${row.id} has no private key`);
    const privateJwk = JSON.parse(
      await this.box.open(row.sealed).catch(() => {
        throw new Error(
          'the stored signing keys cannot be decrypted: SECRET_KEY (or DATA_DIR/secret.key in embedded mode) is not the key they were sealed with',
        );
      }),
    ) as JWK;
    const privateKey = (await importJWK(privateJwk, SIGNING_ALGORITHM)) as CryptoKey;
    this.imported.set(`private:${row.id}`, privateKey);
    return { kid: row.id, privateKey, activatesAt };
  }

  /** The key to sign with now: the NEXT key once its `activates_at` has passed, even before any process switched. */
  signingKey(): ActiveKey {
    if (!this.ring) throw new Error('signing keys not initialised');
    const { active, next, clockOffsetMs } = this.ring;
    const signer = next?.activatesAt != null && next.activatesAt <= Date.now() + clockOffsetMs ? next : active;
    return { kid: signer.kid, privateKey: signer.privateKey };
  }

  /** The key of a `kid`, read again when unknown in case another process just made it. */
  private async entry(kid: string | undefined) {
    if (!kid) return null;
    let ring = await this.current();
    if (!ring.publicKeys.has(kid)) {
      const known = await this.dataSource.getRepository(SigningKeyEntity).exists({ where: { id: kid } });
      if (known) ring = await this.reload();
    }
    return ring.publicKeys.get(kid) ?? null;
  }

  /** The verification key for a token's `kid`: only published keys verify tokens. */
  async publicKey(kid: string | undefined): Promise<CryptoKey | null> {
    const entry = await this.entry(kid);
    return entry?.published ? entry.key : null;
  }

  /** For jose's jwtVerify: the key of a token's `kid`, or jose's own "no matching key" error. */
  async verificationKey(kid: string | undefined): Promise<CryptoKey> {
    const key = await this.publicKey(kid);
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    return key;
  }

  /** Audit checkpoints stay verifiable forever: any key that ever signed, published or not. */
  async checkpointKey(kid: string | undefined): Promise<CryptoKey> {
    const entry = await this.entry(kid);
    if (!entry) throw new joseErrors.JWKSNoMatchingKey();
    return entry.key;
  }

  /** The published keys: ACTIVE, NEXT, and RETIRED ones whose tokens may still verify. */
  jwks(): { keys: JWK[] } {
    return { keys: this.ring?.jwks ?? [] };
  }
}
