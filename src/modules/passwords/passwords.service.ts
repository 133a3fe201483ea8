import { IsNull, type EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import type { Principal } from '../../core/context/context';
import { generateOpaqueToken, hashToken } from '../../core/crypto/opaque-token';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { assertAcceptablePassword } from '../../core/crypto/password-policy';
import { queryRows } from '../../core/db/sql';
import { AppError } from '../../core/errors/app-error';
import type { Logger } from '../../core/logger';
import type { MailMessage, Mailer } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';
import type { AuthService } from '../auth/auth.service';
import { PrincipalKind, UserEntity, UserStatus } from '../users/user.entity';
import { PasswordResetTokenEntity } from './password-reset-token.entity';
import { resetPasswordEmail } from './reset-email';

const RESET_TOKEN_TTL_MINUTES = 60;

/** A reset email to send once the transaction that issued its token has committed. */
export type ResetDelivery = { userId: string; message: MailMessage };

/** Changing, resetting and setting passwords; each runs in the caller's transaction. */
export class PasswordsService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly auth: AuthService,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    private readonly mailTemplates: MailTemplates,
    /** ACCOUNT_LINKS_BASE_URL: the hosted reset page or the operator's own. */
    private readonly linksBase: string,
  ) {}

  /** The caller's own password: their other sessions end, the current one stays signed in. */
  async changePassword(
    tx: EntityManager,
    principal: Principal,
    input: { currentPassword: string; newPassword: string },
    actor: AuditActor,
  ): Promise<true> {
    // Locked so that two concurrent changes cannot both verify against the same old hash.
    const user = await tx
      .getRepository(UserEntity)
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .setLock('pessimistic_write')
      .where('user.id = :id', { id: principal.userId })
      .getOne();
    if (!user) throw new AppError('auth.unauthenticated');
    if (!(await this.hasher.verify(input.currentPassword, user.passwordHash)).matches) {
      throw new AppError('password.incorrect', { field: 'currentPassword' });
    }
    await this.storePassword(tx, user.id, input.newPassword, 'newPassword');
    const sessionsEnded = await this.auth.endAllSessions(tx, user.id, 'password_changed', principal.sessionId);
    await recordAudit(tx, actor, {
      action: 'user.password_changed',
      subjectUserId: user.id,
      targetType: 'User',
      targetId: user.id,
      changes: { sessionsEnded },
    });
    return true;
  }

  /**
   * Issues a reset token for an active account that can have a password, and returns the email
   * to send; null for any other address. Both paths do the same database work, so neither the
   * answer nor its timing tells whether the address has an account: one statement finds the
   * account and issues the token (inserting nothing for an unknown address), and every request is
   * audited with the address asked for, its target null when no account received a link.
   */
  async requestReset(tx: EntityManager, email: string, actor: AuditActor): Promise<ResetDelivery | null> {
    const token = generateOpaqueToken();
    // The account's default org, which the mail names, comes from the same statement: an extra
    // query for known addresses only would time apart the two answers this method keeps alike.
    const [account] = await queryRows<{ id: string; email: string; org_name: string | null; expires_at: Date }>(
      tx,
      `WITH account AS (
         SELECT u.id, u.email, o.name AS org_name FROM users u LEFT JOIN orgs o ON o.id = u.default_org_id
          WHERE lower(u.email) = lower($1) AND u.status = $2 AND u.kind <> $3
       ), issued AS (
         INSERT INTO password_reset_tokens (token_hash, user_id, expires_at)
         SELECT $4, id, now() + make_interval(mins => $5::int) FROM account
         RETURNING user_id, expires_at
       )
       SELECT account.id, account.email, account.org_name, issued.expires_at
         FROM account JOIN issued ON issued.user_id = account.id`,
      [email.trim(), UserStatus.ACTIVE, PrincipalKind.SERVICE_ACCOUNT, hashToken(token), RESET_TOKEN_TTL_MINUTES],
    );
    await recordAudit(tx, actor, {
      action: 'user.password_reset_requested',
      subjectUserId: account?.id ?? null,
      targetType: 'User',
      targetId: account?.id ?? null,
      changes: {
        email: email.trim().toLowerCase(),
        ...(account ? { validMinutes: RESET_TOKEN_TTL_MINUTES } : {}),
      },
    });
    if (!account) return null;
    return {
      userId: account.id,
      message: resetPasswordEmail(this.mailTemplates, this.linksBase, {
        to: account.email,
        orgName: account.org_name,
        token,
        expiresAt: account.expires_at,
        lifetimeSeconds: RESET_TOKEN_TTL_MINUTES * 60,
      }),
    };
  }

  /** Sends without holding up the response; a failure is logged without the message, which holds the token. */
  sendInBackground({ userId, message }: ResetDelivery): void {
    this.mailer.send(message).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error({ userId, reason }, 'could not send a password reset email');
    });
  }

  /**
   * Spends a reset token: new password, every session ended, and the account's sign-in failures
   * forgotten on every address (an administrator's lock stays).
   */
  async resetPassword(
    tx: EntityManager,
    input: { token: string; newPassword: string },
    actor: AuditActor,
  ): Promise<true> {
    // The conditional UPDATE lets exactly one of several concurrent resets spend the token.
    const [spent] = await queryRows<{ user_id: string }>(
      tx,
      `UPDATE password_reset_tokens t SET used_at = now()
         FROM users u
        WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
          AND u.id = t.user_id AND u.status = $2
        RETURNING t.user_id`,
      [hashToken(input.token), UserStatus.ACTIVE],
    );
    if (!spent) throw new AppError('password.invalid_reset_token', { field: 'token' });
    const user = await tx.findOneByOrFail(UserEntity, { id: spent.user_id });
    await this.storePassword(tx, user.id, input.newPassword, 'newPassword');
    await this.auth.forgetLoginFailures(tx, user.email);
    const sessionsEnded = await this.auth.endAllSessions(tx, user.id, 'password_reset');
    // Holding the emailed token is what identifies an anonymous caller as the account's owner.
    await recordAudit(tx, actor.actorId ? actor : { ...actor, actorId: user.id, actorKind: user.kind }, {
      action: 'user.password_reset',
      subjectUserId: user.id,
      targetType: 'User',
      targetId: user.id,
      changes: { sessionsEnded },
    });
    return true;
  }

  /** An administrator sets another user's password; the user's sessions all end. */
  async setPassword(tx: EntityManager, userId: string, password: string, actor: AuditActor): Promise<true> {
    const user = await tx.findOneBy(UserEntity, { id: userId });
    if (!user) throw new AppError('user.not_found');
    if (user.kind === PrincipalKind.SERVICE_ACCOUNT)
      throw new AppError('password.service_account', { field: 'userId' });
    await this.storePassword(tx, user.id, password, 'password');
    const sessionsEnded = await this.auth.endAllSessions(tx, user.id, 'password_set');
    await recordAudit(tx, actor, {
      action: 'user.password_set',
      subjectUserId: user.id,
      targetType: 'User',
      targetId: user.id,
      changes: { sessionsEnded },
    });
    return true;
  }

  /** Applies the policy, stores the new hash, and retires reset links issued for the old password. */
  private async storePassword(tx: EntityManager, userId: string, password: string, field: string): Promise<void> {
    assertAcceptablePassword(password, field);
    const passwordHash = await this.hasher.hash(password);
    await tx.update(UserEntity, { id: userId }, { passwordHash, passwordChangedAt: () => 'now()' });
    await tx.update(PasswordResetTokenEntity, { userId, usedAt: IsNull() }, { usedAt: () => 'now()' });
  }
}
