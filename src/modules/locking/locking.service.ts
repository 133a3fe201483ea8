import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { findLockedOrFail } from '../../core/db/rows';
import type { AuthService } from '../auth/auth.service';
import { UserEntity } from '../users/user.entity';

/**
 * Administrative locks on whole accounts. A locked account cannot sign in or refresh, and its
 * sessions end, so unlocking does not revive a session that may have been stolen.
 */
export class LockingService {
  constructor(private readonly auth: AuthService) {}

  async lock(tx: EntityManager, actor: AuditActor, userId: string, reason: string | null): Promise<UserEntity> {
    const user = await findLockedOrFail(tx, UserEntity, userId, 'user.not_found');
    const before = { locked: user.lockedAt !== null, lockReason: user.lockReason };
    user.lockedAt ??= new Date();
    user.lockReason = reason?.trim() || null;
    await tx.save(user);
    const sessionsEnded = await this.auth.endAllSessions(tx, userId, 'account_locked');
    await recordAudit(tx, actor, {
      action: 'user.locked',
      subjectUserId: userId,
      targetType: 'User',
      targetId: userId,
      changes: { before, after: { locked: true, lockReason: user.lockReason }, sessionsEnded },
    });
    return user;
  }

  /** Lifts an administrator's lock and forgets the account's sign-in failures on every address. */
  async unlock(tx: EntityManager, actor: AuditActor, userId: string): Promise<UserEntity> {
    const user = await findLockedOrFail(tx, UserEntity, userId, 'user.not_found');
    const before = { locked: user.lockedAt !== null, lockReason: user.lockReason };
    Object.assign(user, { lockedAt: null, lockReason: null });
    await tx.save(user);
    await this.auth.forgetLoginFailures(tx, user.email);
    await recordAudit(tx, actor, {
      action: 'user.unlocked',
      subjectUserId: userId,
      targetType: 'User',
      targetId: userId,
      changes: { before, after: { locked: false } },
    });
    return user;
  }
}
