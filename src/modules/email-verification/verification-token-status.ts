import type { EntityManager } from 'typeorm';
import { hashToken } from '../../core/crypto/opaque-token';
import { queryRows } from '../../core/db/sql';
import { UserStatus } from '../users/user.entity';

/** What a verification page shows for a link before it is followed. */
export type VerificationTokenStatus = {
  state: 'usable' | 'expired' | 'used';
  /** The address the link verifies: the new one for an email change, else the account's. */
  email: string | null;
  isChange: boolean;
};

/**
 * Reads a verification link by its token, changing nothing, so a link scanner's GET does not spend
 * it. Null for a token never issued or whose account `verify` would refuse (inactive or locked).
 */
export async function verificationTokenStatus(
  manager: EntityManager,
  token: string,
): Promise<VerificationTokenStatus | null> {
  const [row] = await queryRows<{ used: boolean; expired: boolean; email: string | null; new_email: string | null }>(
    manager,
    `SELECT t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired, u.email, t.new_email
       FROM email_verification_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1 AND u.status = $2 AND u.locked_at IS NULL`,
    [hashToken(token), UserStatus.ACTIVE],
  );
  if (!row) return null;
  return {
    state: row.used ? 'used' : row.expired ? 'expired' : 'usable',
    email: row.new_email ?? row.email,
    isChange: row.new_email !== null,
  };
}
