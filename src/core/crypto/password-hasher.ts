import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';

/**
 * bcrypt reads at most 72 bytes and stops at NUL, so two long passwords sharing a prefix would
 * collide. Every password is first reduced to HMAC-SHA-256 (44 base64 characters, no NUL) and
 * only that goes to bcrypt. Passwords are NFC-normalised so the same text typed on different
 * systems matches. bcrypt's async API runs on libuv's thread pool, off the event loop.
 */
const PREHASH_KEY = 'portcullis.password.v1';

function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFC'), 'utf8').digest('base64');
}

export type Verification = {
  matches: boolean;
  /** A hash at the configured cost, when the password matched a weaker stored hash. */
  upgradedHash: string | null;
};

export class PasswordHasher {
  /** A real hash to compare against when the account is unknown, so both paths cost the same. */
  private readonly decoyHash: Promise<string>;

  constructor(private readonly cost: number) {
    this.decoyHash = bcrypt.hash(prehash('decoy password that never matches'), cost);
  }

  /** Hashes at the configured cost, or at a lower one for bulk imports (raised at next sign-in). */
  hash(password: string, cost = this.cost): Promise<string> {
    return bcrypt.hash(prehash(password), cost);
  }

  /** Whether a stored hash is weaker than the configured cost and should be replaced. */
  private needsRehash(storedHash: string): boolean {
    return bcrypt.getRounds(storedHash) < this.cost;
  }

  /**
   * Spends exactly one bcrypt operation at the configured cost on every path, so the answer's
   * timing tells neither unknown accounts nor imported ones (hashed at a lower cost) apart: a
   * missing hash is compared with the decoy; a weaker stored hash is checked at its own cost and
   * then either replaced (`upgradedHash`, for the caller to store on success) or followed by the
   * decoy comparison.
   */
  async verify(password: string, storedHash: string | null | undefined): Promise<Verification> {
    const prehashed = prehash(password);
    if (!storedHash) {
      await bcrypt.compare(prehashed, await this.decoyHash);
      return { matches: false, upgradedHash: null };
    }
    const matches = await bcrypt.compare(prehashed, storedHash);
    if (!this.needsRehash(storedHash)) return { matches, upgradedHash: null };
    if (matches) return { matches, upgradedHash: await bcrypt.hash(prehashed, this.cost) };
    await bcrypt.compare(prehashed, await this.decoyHash);
    return { matches: false, upgradedHash: null };
  }
}
