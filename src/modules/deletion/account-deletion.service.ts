import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { eraseAccountPersonalData } from '../../core/audit/personal-data';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { PERMISSIONS } from '../../core/permissions/permissions';
import type { AuthService } from '../auth/auth.service';
import { lockOrg, otherActiveOwners } from '../roles/role-rank';

type Account = { id: string; email: string | null; kind: string; superUser: boolean; passwordHash: string | null };

/** Who deletes: the account holder with their password, or a super user without one. */
export type AccountDeletion = { userId: string; password: string | null; self: boolean };

export class AccountDeletionService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly auth: AuthService,
  ) {}

  /**
   * Deletes an account in the caller's transaction: its memberships, team and group links, grants,
   * sessions, keys and tokens go with the row; invitations to its address are deleted; then its
   * audit key is destroyed, which erases the personal data sealed in audit records about it.
   */
  async deleteAccount(tx: EntityManager, actor: AuditActor, request: AccountDeletion): Promise<true> {
    const account = await findAccount(tx, request.userId);
    // Checked before any lock is taken: bcrypt's time is not spent holding orgs' rows.
    if (request.self) {
      const { matches } = await this.hasher.verify(request.password ?? '', account.passwordHash);
      if (!matches) throw new AppError('password.incorrect', { field: 'password' });
    }
    // Orgs before accounts, the order removeMember takes them in, so the two cannot deadlock.
    await keepOwnersOfOwnedOrgs(tx, account.id);
    await lockAccounts(tx, account);

    // Before the memberships go: the account event reaches every org the account belongs to.
    await recordAudit(tx, actor, {
      action: 'user.deleted',
      subjectUserId: account.id,
      targetType: 'User',
      targetId: account.id,
      changes: { kind: account.kind, self: request.self },
    });
    await this.auth.endAllSessions(tx, account.id, 'account_deleted');
    if (account.email) {
      // Every status: an accepted or revoked invitation would otherwise keep the address.
      await tx.query(`DELETE FROM invitations WHERE kind = 'EMAIL' AND lower(email) = lower($1)`, [account.email]);
    }
    await tx.query('DELETE FROM users WHERE id = $1', [account.id]);
    await eraseAccountPersonalData(tx, account.id, account.email);
    return true;
  }
}

async function findAccount(tx: EntityManager, userId: string): Promise<Account> {
  const [account]: Account[] = isId(userId)
    ? await tx.query(
        `SELECT id, email, kind, super_user AS "superUser", password_hash AS "passwordHash" FROM users WHERE id = $1`,
        [userId],
      )
    : [];
  if (!account) throw new AppError('user.not_found');
  return account;
}

/**
 * Locks the account row. A super user's deletion locks every super user's row, in id order, so
 * that two super users deleting each other at once cannot both count the other as left over; the
 * last one who can still act (active, not locked) is kept.
 */
async function lockAccounts(tx: EntityManager, account: Account): Promise<void> {
  const rows: Array<{ id: string; usable: boolean }> = await tx.query(
    `SELECT id, status = 'ACTIVE' AND locked_at IS NULL AS usable FROM users
      WHERE id = $1 OR ($2 AND super_user) ORDER BY id FOR UPDATE`,
    [account.id, account.superUser],
  );
  if (!rows.some((row) => row.id === account.id)) throw new AppError('user.not_found');
  if (account.superUser && !rows.some((row) => row.id !== account.id && row.usable)) {
    throw new AppError('user.last_super_user');
  }
}

/**
 * Refuses when the account is the last active owner of an org, naming the org. Each org it owns is
 * locked (in id order), as removeMember does, so two owners of one org deleting themselves at once
 * leave one of them.
 */
async function keepOwnersOfOwnedOrgs(tx: EntityManager, userId: string): Promise<void> {
  const owned: Array<{ orgId: string; slug: string }> = await tx.query(
    `SELECT m.org_id AS "orgId", o.slug
       FROM memberships m JOIN roles r ON r.id = m.role_id JOIN orgs o ON o.id = m.org_id
      WHERE m.user_id = $1 AND m.status = 'ACTIVE' AND r.permissions @> $2::text[]
      ORDER BY m.org_id`,
    [userId, [...PERMISSIONS]],
  );
  for (const { orgId, slug } of owned) {
    if (!(await lockOrg(tx, orgId))) continue;
    if ((await otherActiveOwners(tx, orgId, { userId })) === 0) {
      throw new AppError('user.last_owner', {
        message: `The account is the last owner of the org "${slug}": make someone else owner, or delete the org, first`,
        details: { orgId },
      });
    }
  }
}
