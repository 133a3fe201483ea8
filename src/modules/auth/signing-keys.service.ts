import { randomUUID } from 'node:crypto';
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { DataSource } from 'typeorm';
import { SecretBox } from '../../core/crypto/secret-box';
import { SigningKeyEntity, SigningKeyStatus } from './signing-key.entity';

export const SIGNING_ALGORITHM = 'ES256';

type ActiveKey = { kid: string; privateKey: CryptoKey };

/**
 * The gateway's token-signing keys. One ACTIVE key signs; every unretired key verifies and is
 * published in the JWKS. Private parts are stored sealed with SECRET_KEY.
 */
export class SigningKeyStore {
  private readonly box: SecretBox;
  private active: ActiveKey | null = null;
  private readonly publicKeys = new Map<string, CryptoKey>();
  private publishedJwks: JWK[] = [];

  constructor(
    private readonly dataSource: DataSource,
    secretKey: string,
  ) {
    this.box = new SecretBox(secretKey, 'signing-keys');
  }

  /** Loads the active key, creating one on first start; safe when two processes start at once. */
  async initialize(): Promise<void> {
    const repository = this.dataSource.getRepository(SigningKeyEntity);
    const existing = await repository.findOne({ where: { status: SigningKeyStatus.ACTIVE }, select: { id: true } });
    if (!existing) {
      const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
      const kid = randomUUID();
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' };
      const sealed = await this.box.seal(JSON.stringify(await exportJWK(privateKey)));
      await repository
        .createQueryBuilder()
        .insert()
        .values({ id: kid, algorithm: SIGNING_ALGORITHM, publicJwk, privateJwkSealed: sealed })
        .orIgnore()
        .execute();
    }
    await this.reload();
  }

  private async reload(): Promise<void> {
    const rows = await this.dataSource
      .getRepository(SigningKeyEntity)
      .createQueryBuilder('key')
      .addSelect('key.privateJwkSealed')
      .orderBy('key.createdAt', 'ASC')
      .getMany();
    const activeRow = rows.find((row) => row.status === SigningKeyStatus.ACTIVE);
    if (!activeRow?.privateJwkSealed) throw new Error('no active signing key');
    const sealedKey = activeRow.privateJwkSealed;
    const privateJwk = JSON.parse(
      await this.box.open(sealedKey).catch(() => {
        throw new Error(
          'the stored signing keys cannot be decrypted: SECRET_KEY (or DATA_DIR/secret.key in embedded mode) is not the key they were sealed with',
        );
      }),
    ) as JWK;
    this.active = { kid: activeRow.id, privateKey: (await importJWK(privateJwk, SIGNING_ALGORITHM)) as CryptoKey };
    this.publishedJwks = rows.map((row) => row.publicJwk);
    this.publicKeys.clear();
    for (const row of rows) {
      this.publicKeys.set(row.id, (await importJWK(row.publicJwk, SIGNING_ALGORITHM)) as CryptoKey);
    }
  }

  signingKey(): ActiveKey {
    if (!this.active) throw new Error('signing keys not initialised');
    return this.active;
  }

  /** The verification key for a `kid`; an unknown kid is looked up again in case another process rotated. */
  async publicKey(kid: string | undefined): Promise<CryptoKey | null> {
    if (!kid) return null;
    if (!this.publicKeys.has(kid)) {
      const known = await this.dataSource.getRepository(SigningKeyEntity).exists({ where: { id: kid } });
      if (known) await this.reload();
    }
    return this.publicKeys.get(kid) ?? null;
  }

  /** For jose's jwtVerify: the key of a token's `kid`, or jose's own "no matching key" error. */
  async verificationKey(kid: string | undefined): Promise<CryptoKey> {
    const key = await this.publicKey(kid);
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    return key;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.publishedJwks };
  }
}
