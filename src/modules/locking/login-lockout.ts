import type { EntityManager } from 'typeorm';
import { queryRows } from '../../core/db/sql';
import type { UserEntity } from '../users/user.entity';

export type LockoutPolicy = { threshold: number; windowSeconds: number; durationSeconds: number };

export type FailureCount = { failedCount: number; lockedUntil: Date | null };

/**
 * Automatic lockout: `threshold` failed sign-ins within `windowSeconds` lock the account for
 * `durationSeconds`. Each failure is counted by one conditional UPDATE on the user row, so
 * parallel attempts are counted exactly; attempts while locked are not counted and do not extend
 * the lock; an expired lock starts a fresh count.
 */
export class LoginLockout {
  constructor(private readonly policy: LockoutPolicy) {}

  isLockedOut(user: Pick<UserEntity, 'lockedUntil'>): boolean {
    return user.lockedUntil !== null && user.lockedUntil.getTime() > Date.now();
  }

  /** Counts one failure; null when the account is already locked out (the attempt is not counted). */
  async recordFailure(tx: EntityManager, userId: string): Promise<FailureCount | null> {
    const rows = await queryRows<{ failed_login_count: number; locked_until: Date | null }>(
      tx,
      `WITH counted AS (
         SELECT id,
                CASE WHEN failed_login_window_started_at IS NULL
                       OR failed_login_window_started_at <= now() - make_interval(secs => $2)
                       OR locked_until IS NOT NULL
                     THEN 1 ELSE failed_login_count + 1 END AS next_count,
                CASE WHEN failed_login_window_started_at IS NULL
                       OR failed_login_window_started_at <= now() - make_interval(secs => $2)
                       OR locked_until IS NOT NULL
                     THEN now() ELSE failed_login_window_started_at END AS window_start
           FROM users WHERE id = $1 AND (locked_until IS NULL OR locked_until <= now())
           FOR UPDATE
       )
       UPDATE users u
          SET failed_login_count = c.next_count,
              failed_login_window_started_at = c.window_start,
              locked_until = CASE WHEN c.next_count >= $3 THEN now() + make_interval(secs => $4) ELSE NULL END
         FROM counted c
        WHERE u.id = c.id
        RETURNING u.failed_login_count, u.locked_until`,
      [userId, this.policy.windowSeconds, this.policy.threshold, this.policy.durationSeconds],
    );
    return rows[0] ? { failedCount: rows[0].failed_login_count, lockedUntil: rows[0].locked_until } : null;
  }

  async recordSuccess(tx: EntityManager, userId: string): Promise<void> {
    await tx.query(
      `UPDATE users SET failed_login_count = 0, failed_login_window_started_at = NULL, locked_until = NULL WHERE id = $1`,
      [userId],
    );
  }
}
