import type { EntityManager } from 'typeorm';
import { hashToken } from '../../core/crypto/opaque-token';
import { queryRows } from '../../core/db/sql';
import { UserStatus } from '../users/user.entity';

/** What a reset page shows for a link before it is spent. */
export type ResetTokenStatus = { state: 'usable' | 'expired' | 'used'; email: string | null };

/**
 * Reads a reset link by its token, changing nothing. Null for a token that was never issued or
 * whose account can no longer reset (the same accounts `resetPassword` refuses); a newer password
 * marks older links used (passwords.service.ts `storePassword`).
 */
export async function resetTokenStatus(manager: EntityManager, token: string): Promise<ResetTokenStatus | null> {
  const [row] = await queryRows<{ used: boolean; expired: boolean; email: string | null }>(
    manager,
    `SELECT t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired, u.email
       FROM password_reset_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1 AND u.status = $2`,
    [hashToken(token), UserStatus.ACTIVE],
  );
  if (!row) return null;
  return { state: row.used ? 'used' : row.expired ? 'expired' : 'usable', email: row.email };
}
