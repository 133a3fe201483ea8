import { IsNull, Not, type DataSource, type EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { generateOpaqueToken, hashToken } from '../../core/crypto/opaque-token';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { queryRows } from '../../core/db/sql';
import { AppError } from '../../core/errors/app-error';
import type { Logger } from '../../core/logger';
import type { MailMessage, Mailer } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';
import { OrgEntity } from '../orgs/org.entity';
import { PasswordResetTokenEntity } from '../passwords/password-reset-token.entity';
import { UserEntity, UserStatus } from '../users/user.entity';
import { EmailVerificationTokenEntity } from './email-verification-token.entity';
import { confirmNewEmailMessage, emailChangedNotice, verifyEmailMessage } from './verification-emails';

/** A message to send once the transaction behind it has committed. */
export type VerificationDelivery = { userId: string; message: MailMessage };

/**
 * Proving control of a mailbox: verifying the account's address, and changing it, which takes
 * effect only when the link mailed to the new address is followed. Each step runs in the caller's
 * transaction; links are single-use and only their tokens' SHA-256 is stored.
 */
export class EmailVerificationService {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    private readonly mailTemplates: MailTemplates,
    /** ACCOUNT_LINKS_BASE_URL: the hosted verification page or the operator's own. */
    private readonly linksBase: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Issues a link to the caller's own address; an address already verified gets no mail (null). */
  async requestVerification(
    tx: EntityManager,
    userId: string,
    actor: AuditActor,
  ): Promise<VerificationDelivery | null> {
    const user = await tx.findOneBy(UserEntity, { id: userId });
    if (!user?.email) throw new AppError('auth.forbidden');
    const verified = user.emailVerifiedAt !== null;
    const link = verified ? null : await this.issue(tx, user.id, null);
    await recordAudit(tx, actor, {
      action: 'user.email_verification_requested',
      subjectUserId: user.id,
      targetType: 'User',
      targetId: user.id,
      changes: { email: user.email, sent: link !== null },
    });
    if (!link) return null;
    const message = verifyEmailMessage(this.mailTemplates, this.linksBase, {
      to: user.email,
      orgName: await this.orgNameOf(tx, user),
      ...link,
      lifetimeSeconds: this.ttlSeconds,
    });
    return { userId: user.id, message };
  }

  /** The same check and error as changePassword's; bcrypt runs on libuv's pool, off the event loop. */
  async assertPassword(db: DataSource, userId: string, password: string): Promise<void> {
    const user = await db
      .getRepository(UserEntity)
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.id = :id', { id: userId })
      .getOne();
    if (!(await this.hasher.verify(password, user?.passwordHash)).matches) {
      throw new AppError('password.incorrect', { field: 'password' });
    }
  }

  /**
   * Mails a link to `newEmail`; the account keeps its address until the link is followed. Whether
   * another account holds `newEmail` is not looked at here (the switch checks), so the answer and
   * its work are the same either way. A newer request retires the pending ones.
   */
  async requestChange(
    tx: EntityManager,
    userId: string,
    newEmail: string,
    actor: AuditActor,
  ): Promise<VerificationDelivery> {
    const user = await tx.findOneBy(UserEntity, { id: userId });
    if (!user?.email) throw new AppError('auth.forbidden');
    const address = newEmail.trim();
    if (address === user.email) throw new AppError('user.email_unchanged', { field: 'newEmail' });
    await tx.update(
      EmailVerificationTokenEntity,
      { userId: user.id, usedAt: IsNull(), newEmail: Not(IsNull()) },
      { usedAt: () => 'now()' },
    );
    const link = await this.issue(tx, user.id, address);
    await recordAudit(tx, actor, {
      action: 'user.email_change_requested',
      subjectUserId: user.id,
      targetType: 'User',
      targetId: user.id,
      changes: { email: user.email, newEmail: address },
    });
    const message = confirmNewEmailMessage(this.mailTemplates, this.linksBase, {
      to: address,
      orgName: await this.orgNameOf(tx, user),
      ...link,
      lifetimeSeconds: this.ttlSeconds,
    });
    return { userId: user.id, message };
  }

  /**
   * Spends a link: the address is verified, or, for a change, the account switches to the new one
   * (verified), every other pending link and password reset of the account stops working, and the
   * former address is sent a notice (returned). An unknown, spent or expired token fail alike. An
   * address another account took meanwhile fails on the unique index (the caller maps it to
   * user.email_in_use), rolling back, so the link stays usable.
   */
  async verify(tx: EntityManager, token: string, actor: AuditActor): Promise<VerificationDelivery | null> {
    // The conditional UPDATE lets exactly one of several concurrent requests spend the token.
    const [spent] = await queryRows<{ user_id: string; new_email: string | null }>(
      tx,
      `UPDATE email_verification_tokens t SET used_at = now()
         FROM users u
        WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
          AND u.id = t.user_id AND u.status = $2 AND u.locked_at IS NULL
        RETURNING t.user_id, t.new_email`,
      [hashToken(token), UserStatus.ACTIVE],
    );
    if (!spent) throw new AppError('email.verification_invalid', { field: 'token' });
    const user = await tx.findOneOrFail(UserEntity, {
      where: { id: spent.user_id },
      lock: { mode: 'pessimistic_write' },
    });
    // Holding the mailed token is what identifies an anonymous caller as the account's owner.
    const auditActor = actor.actorId ? actor : { ...actor, actorId: user.id, actorKind: user.kind };
    const subject = { subjectUserId: user.id, targetType: 'User', targetId: user.id };

    if (spent.new_email === null) {
      await tx.update(UserEntity, { id: user.id }, { emailVerifiedAt: () => 'coalesce(email_verified_at, now())' });
      await recordAudit(tx, auditActor, { action: 'user.email_verified', ...subject, changes: { email: user.email } });
      return null;
    }

    const oldEmail = user.email;
    await tx.update(UserEntity, { id: user.id }, { email: spent.new_email, emailVerifiedAt: () => 'now()' });
    await tx.update(EmailVerificationTokenEntity, { userId: user.id, usedAt: IsNull() }, { usedAt: () => 'now()' });
    await tx.update(PasswordResetTokenEntity, { userId: user.id, usedAt: IsNull() }, { usedAt: () => 'now()' });
    await recordAudit(tx, auditActor, {
      action: 'user.email_changed',
      ...subject,
      changes: { oldEmail, newEmail: spent.new_email },
    });
    if (!oldEmail) return null;
    const notice = emailChangedNotice(this.mailTemplates, {
      to: oldEmail,
      newEmail: spent.new_email,
      orgName: await this.orgNameOf(tx, user),
      changedAt: new Date(),
    });
    return { userId: user.id, message: notice };
  }

  /** Sends without holding up the response; a failure is logged without the message, which may hold a token. */
  sendInBackground({ userId, message }: VerificationDelivery): void {
    this.mailer.send(message).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error({ userId, reason }, 'could not send an email verification message');
    });
  }

  /** Stores a new link's hash and returns its token, which only the mail carries, and its expiry. */
  private async issue(
    tx: EntityManager,
    userId: string,
    newEmail: string | null,
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = generateOpaqueToken();
    const [issued] = await queryRows<{ expires_at: Date }>(
      tx,
      `INSERT INTO email_verification_tokens (user_id, token_hash, new_email, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       RETURNING expires_at`,
      [userId, hashToken(token), newEmail, this.ttlSeconds],
    );
    return { token, expiresAt: issued.expires_at };
  }

  /** The account's default org, named in its mail so the reader knows which service wrote. */
  private async orgNameOf(tx: EntityManager, user: UserEntity): Promise<string | null> {
    if (!user.defaultOrgId) return null;
    return (await tx.findOneBy(OrgEntity, { id: user.defaultOrgId }))?.name ?? null;
  }
}
