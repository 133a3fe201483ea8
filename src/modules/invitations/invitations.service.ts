import type { DataSource, EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { isDelegated, type Principal } from '../../core/context/context';
import { generateOpaqueToken, hashToken } from '../../core/crypto/opaque-token';
import type { PasswordHasher } from '../../core/crypto/password-hasher';
import { assertAcceptablePassword } from '../../core/crypto/password-policy';
import { isUniqueViolation } from '../../core/db/pg-errors';
import { findLockedOrFail } from '../../core/db/rows';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { accountLink } from '../../core/mail/account-links';
import type { Mailer } from '../../core/mail/mailer';
import type { MailTemplates } from '../../core/mail/templates';
import type { AuthService, SignedIn } from '../auth/auth.service';
import { MembershipEntity, MembershipStatus } from '../members/membership.entity';
import { OrgEntity } from '../orgs/org.entity';
import { RoleEntity } from '../roles/role.entity';
import { PrincipalKind, UserEntity, UserStatus } from '../users/user.entity';
import { invitationEmail } from './invitation-email';
import { InvitationEntity, InvitationKind, StoredInvitationStatus } from './invitation.entity';
import { LINK_MAX_LIFETIME_SECONDS } from './invitation.inputs';
import { InvitationStatus } from './invitation.type';

const EMAIL_INVITATION_LIFETIME_MS = 7 * 86_400_000;
const PENDING_EMAIL_INDEX = 'invitations_pending_email_key';

export type InviteRequest = {
  orgId: string;
  email: string;
  roleId: string;
  groupIds?: string[] | null;
  teamIds?: string[] | null;
  message?: string | null;
  customerId?: string | null;
};

export type InviteLinkRequest = {
  orgId: string;
  roleId: string;
  groupIds?: string[] | null;
  teamIds?: string[] | null;
  expiresInSeconds?: number | null;
  maxUses?: number | null;
};

export type AcceptRequest = {
  token: string;
  email?: string | null;
  password?: string | null;
  firstName?: string | null;
  lastName?: string | null;
};

/**
 * The mail server refused the invitation or could not be reached. A fault of the server, not of the
 * request (so it stays masked for `invite`), marked so that an import can fail that one line.
 */
export class InvitationNotSentError extends Error {
  constructor(cause: unknown) {
    super('The invitation email could not be sent', { cause });
    this.name = 'InvitationNotSentError';
  }
}

/** What one pending invitation offers, checked again under lock when it is accepted. */
function isUsable(invitation: InvitationEntity): boolean {
  return (
    invitation.status === StoredInvitationStatus.PENDING &&
    invitation.expiresAt.getTime() > Date.now() &&
    (invitation.maxUses === null || invitation.useCount < invitation.maxUses)
  );
}

/** Keeps the org row from changing or going (as referencing it does) without serialising its users. */
async function lockOrgForKeyShare(tx: EntityManager, orgId: string): Promise<void> {
  await tx.query('SELECT 1 FROM orgs WHERE id = $1 FOR KEY SHARE', [orgId]);
}

/**
 * Holds, until the transaction ends, the right to replace the org's pending invitation to this
 * address: without it, concurrent invites each revoke what was pending before any of them inserted,
 * and all their invitations stay live. The org row is locked first, FOR KEY SHARE (what inserting
 * the invitation takes anyway), so the order matches an import, which locks the org before it
 * invites, and no invite can hold the address while waiting for the org.
 */
async function lockInvitationsTo(tx: EntityManager, orgId: string, email: string): Promise<void> {
  await lockOrgForKeyShare(tx, orgId);
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('invitation:' || $1 || ':' || lower($2), 0))`, [
    orgId,
    email,
  ]);
}

/**
 * The index allows one pending invitation per address (migration 1795852800000). Under the lock
 * above it is never hit; should anything else have written one, the answer is a conflict, not a 500.
 */
async function insertPendingInvitation(tx: EntityManager, invitation: InvitationEntity): Promise<InvitationEntity> {
  try {
    return await tx.save(invitation);
  } catch (error) {
    if (isUniqueViolation(error, PENDING_EMAIL_INDEX)) throw new AppError('invitation.pending_exists');
    throw error;
  }
}

export function effectiveStatus(invitation: InvitationEntity): InvitationStatus {
  if (invitation.status === StoredInvitationStatus.PENDING && invitation.expiresAt.getTime() <= Date.now()) {
    return InvitationStatus.EXPIRED;
  }
  return invitation.status as unknown as InvitationStatus;
}

/**
 * Invitations by email (single use, 7 days) and by link (multi-use, at most 24 h). Tokens are
 * 256-bit random values stored as SHA-256; the plain token exists only in the email or the
 * createInviteLink answer.
 */
export class InvitationsService {
  constructor(
    private readonly db: DataSource,
    private readonly auth: AuthService,
    private readonly hasher: PasswordHasher,
    private readonly mailer: Mailer,
    private readonly mailTemplates: MailTemplates,
    /** ACCOUNT_LINKS_BASE_URL: emailed links and createInviteLink's url open the same page. */
    private readonly linksBase: string,
  ) {}

  acceptUrl(token: string): string {
    return accountLink(this.linksBase, '/invitations/accept', token);
  }

  async invite(tx: EntityManager, actor: AuditActor, request: InviteRequest): Promise<InvitationEntity> {
    const email = request.email.trim();
    await lockInvitationsTo(tx, request.orgId, email);
    const offer = await this.validatedOffer(tx, request);
    const existing = await tx
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .where('lower(u.email) = lower(:email)', { email })
      .getOne();
    if (existing && (await tx.existsBy(MembershipEntity, { userId: existing.id, orgId: request.orgId }))) {
      throw new AppError('invitation.already_member', { field: 'email' });
    }
    // A new invitation to the same address replaces any pending one.
    await tx.query(
      `UPDATE invitations SET status = 'REVOKED', revoked_at = now(), updated_at = now()
        WHERE org_id = $1 AND kind = 'EMAIL' AND status = 'PENDING' AND lower(email) = lower($2)`,
      [request.orgId, email],
    );
    const token = generateOpaqueToken();
    const invitation = await insertPendingInvitation(
      tx,
      tx.create(InvitationEntity, {
        orgId: request.orgId,
        kind: InvitationKind.EMAIL,
        email,
        roleId: offer.role.id,
        groupIds: offer.groupIds,
        teamIds: offer.teamIds,
        message: request.message?.trim() || null,
        customerId: request.customerId?.trim() || null,
        tokenHash: hashToken(token),
        expiresAt: new Date(Date.now() + EMAIL_INVITATION_LIFETIME_MS),
        invitedById: actor.actorId,
      }),
    );
    await recordAudit(tx, actor, {
      action: 'invitation.created',
      orgId: request.orgId,
      targetType: 'Invitation',
      targetId: invitation.id,
      changes: {
        after: {
          email,
          kind: 'EMAIL',
          role: offer.role.key,
          groupIds: offer.groupIds,
          teamIds: offer.teamIds,
          customerId: invitation.customerId,
        },
      },
    });
    await this.sendInvitation(tx, invitation, token, actor.actorId);
    return invitation;
  }

  async createLink(tx: EntityManager, actor: AuditActor, request: InviteLinkRequest) {
    const offer = await this.validatedOffer(tx, request);
    const lifetime = Math.min(request.expiresInSeconds ?? LINK_MAX_LIFETIME_SECONDS, LINK_MAX_LIFETIME_SECONDS);
    const token = generateOpaqueToken();
    const invitation = await tx.save(
      tx.create(InvitationEntity, {
        orgId: request.orgId,
        kind: InvitationKind.LINK,
        email: null,
        roleId: offer.role.id,
        groupIds: offer.groupIds,
        teamIds: offer.teamIds,
        tokenHash: hashToken(token),
        expiresAt: new Date(Date.now() + lifetime * 1000),
        maxUses: request.maxUses ?? null,
        invitedById: actor.actorId,
      }),
    );
    await recordAudit(tx, actor, {
      action: 'invitation.link_created',
      orgId: request.orgId,
      targetType: 'Invitation',
      targetId: invitation.id,
      changes: {
        after: { kind: 'LINK', role: offer.role.key, expiresAt: invitation.expiresAt, maxUses: invitation.maxUses },
      },
    });
    return { invitation, url: this.acceptUrl(token), token, expiresAt: invitation.expiresAt };
  }

  /** A new token (the old one stops working) and a renewed expiry, sent again. */
  async resend(tx: EntityManager, actor: AuditActor, id: string): Promise<InvitationEntity> {
    const invitation = await findLockedOrFail(tx, InvitationEntity, id, 'invitation.not_found');
    if (invitation.kind !== InvitationKind.EMAIL || invitation.status !== StoredInvitationStatus.PENDING) {
      throw new AppError('invitation.not_pending');
    }
    const token = generateOpaqueToken();
    invitation.tokenHash = hashToken(token);
    invitation.expiresAt = new Date(Date.now() + EMAIL_INVITATION_LIFETIME_MS);
    await tx.save(invitation);
    await recordAudit(tx, actor, {
      action: 'invitation.resent',
      orgId: invitation.orgId,
      targetType: 'Invitation',
      targetId: invitation.id,
      changes: { after: { expiresAt: invitation.expiresAt } },
    });
    await this.sendInvitation(tx, invitation, token, actor.actorId);
    return invitation;
  }

  async revoke(tx: EntityManager, actor: AuditActor, id: string): Promise<InvitationEntity> {
    const invitation = await findLockedOrFail(tx, InvitationEntity, id, 'invitation.not_found');
    if (invitation.status !== StoredInvitationStatus.PENDING) throw new AppError('invitation.not_pending');
    invitation.status = StoredInvitationStatus.REVOKED;
    invitation.revokedAt = new Date();
    await tx.save(invitation);
    await recordAudit(tx, actor, {
      action: 'invitation.revoked',
      orgId: invitation.orgId,
      targetType: 'Invitation',
      targetId: invitation.id,
      changes: { before: { status: 'PENDING' }, after: { status: 'REVOKED' } },
    });
    return invitation;
  }

  /**
   * Joins the invitation's org with its role, groups and teams, in one transaction. A signed-in
   * caller just joins (an email invitation must be addressed to them); anyone else creates an
   * account with the invitation's (or, for a link, their own) email, a password and names. Accepting
   * starts a session, so a delegated credential (an API key) may not: it would become one.
   */
  async accept(request: AcceptRequest, principal: Principal | null, actor: AuditActor): Promise<SignedIn> {
    if (principal && isDelegated(principal)) throw new AppError('auth.delegated_not_allowed');
    const tokenHash = hashToken(request.token);
    const preview = await this.findByToken(this.db.manager, tokenHash, false);
    if (!preview || !isUsable(preview)) throw new AppError('invitation.invalid_token');
    let passwordHash: string | null = null;
    if (!principal) {
      if (!request.password || !request.firstName || !request.lastName)
        throw new AppError('invitation.details_required');
      assertAcceptablePassword(request.password);
      passwordHash = await this.hasher.hash(request.password);
    }

    try {
      const { user, session, refreshToken } = await this.db.transaction(async (tx) => {
        // The org before the invitation, in the order invites and imports take them: joining
        // takes the org row (FOR KEY SHARE) anyway, and taking it last could deadlock with an
        // import holding the org while it replaces this invitation.
        await lockOrgForKeyShare(tx, preview.orgId);
        const invitation = await this.findByToken(tx, tokenHash, true);
        if (!invitation || !isUsable(invitation)) throw new AppError('invitation.invalid_token');
        const user = principal
          ? await this.joiningUser(tx, invitation, principal)
          : await this.createInvitedUser(tx, invitation, request, passwordHash as string);
        await this.join(tx, invitation, user);
        await recordAudit(
          tx,
          { ...actor, actorId: user.id, actorKind: user.kind },
          {
            action: 'invitation.accepted',
            orgId: invitation.orgId,
            subjectUserId: user.id,
            targetType: 'Invitation',
            targetId: invitation.id,
            changes: { after: { userId: user.id, newAccount: !principal, kind: invitation.kind } },
          },
        );
        const sessionOrgId = await this.auth.openOrgFor(tx, user, invitation.orgId);
        return { user, ...(await this.auth.startSession(tx, user.id, sessionOrgId, actor)) };
      });
      return await this.auth.signedIn(user, session, refreshToken);
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_lower_key'))
        throw new AppError('user.email_in_use', { field: 'email' });
      throw error;
    }
  }

  private async joiningUser(
    tx: EntityManager,
    invitation: InvitationEntity,
    principal: Principal,
  ): Promise<UserEntity> {
    const user = await tx.findOneByOrFail(UserEntity, { id: principal.userId });
    if (user.kind === PrincipalKind.SERVICE_ACCOUNT) throw new AppError('session.service_account');
    if (invitation.kind === InvitationKind.EMAIL) {
      if (invitation.email?.toLowerCase() !== user.email?.toLowerCase())
        throw new AppError('invitation.email_mismatch');
      // The token came to this very address: following it proves the mailbox, as verifyEmail does.
      if (!user.emailVerifiedAt) {
        user.emailVerifiedAt = new Date();
        await tx.update(UserEntity, { id: user.id }, { emailVerifiedAt: () => 'now()' });
      }
    }
    return user;
  }

  private async createInvitedUser(
    tx: EntityManager,
    invitation: InvitationEntity,
    request: AcceptRequest,
    passwordHash: string,
  ): Promise<UserEntity> {
    const email = invitation.kind === InvitationKind.EMAIL ? invitation.email : request.email?.trim();
    if (!email) throw new AppError('invitation.details_required', { field: 'email' });
    if (
      invitation.kind === InvitationKind.EMAIL &&
      request.email &&
      request.email.trim().toLowerCase() !== email.toLowerCase()
    ) {
      throw new AppError('invitation.email_mismatch', { field: 'email' });
    }
    const taken = await tx
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .where('lower(u.email) = lower(:email)', { email })
      .getExists();
    if (taken) {
      // The account exists: its owner accepts while signed in.
      throw new AppError('user.email_in_use', {
        message: 'An account with this email exists: sign in, then accept',
        field: 'email',
      });
    }
    return tx.save(
      tx.create(UserEntity, {
        email,
        firstName: request.firstName?.trim() ?? null,
        lastName: request.lastName?.trim() ?? null,
        kind: invitation.customerId ? PrincipalKind.CUSTOMER : PrincipalKind.HUMAN,
        customerId: invitation.customerId,
        status: UserStatus.ACTIVE,
        passwordHash,
        passwordChangedAt: new Date(),
        // Following an emailed link proves control of the mailbox.
        emailVerifiedAt: invitation.kind === InvitationKind.EMAIL ? new Date() : null,
        defaultOrgId: invitation.orgId,
      }),
    );
  }

  /** Membership, groups and teams (those still in the org), and the invitation spent. */
  private async join(tx: EntityManager, invitation: InvitationEntity, user: UserEntity): Promise<void> {
    if (await tx.existsBy(MembershipEntity, { userId: user.id, orgId: invitation.orgId })) {
      throw new AppError('invitation.already_member');
    }
    await tx.insert(MembershipEntity, {
      userId: user.id,
      orgId: invitation.orgId,
      roleId: invitation.roleId,
      status: MembershipStatus.ACTIVE,
      invitedById: invitation.invitedById,
    });
    await tx.query(
      `INSERT INTO group_members (group_id, user_id) SELECT id, $1 FROM groups WHERE org_id = $2 AND id = ANY($3::uuid[]) ON CONFLICT DO NOTHING`,
      [user.id, invitation.orgId, invitation.groupIds],
    );
    await tx.query(
      `INSERT INTO team_members (team_id, user_id) SELECT id, $1 FROM teams WHERE org_id = $2 AND id = ANY($3::uuid[]) ON CONFLICT DO NOTHING`,
      [user.id, invitation.orgId, invitation.teamIds],
    );
    invitation.useCount += 1;
    if (invitation.kind === InvitationKind.EMAIL || invitation.useCount === invitation.maxUses) {
      invitation.status = StoredInvitationStatus.ACCEPTED;
    }
    invitation.acceptedAt = new Date();
    invitation.acceptedById = user.id;
    await tx.save(invitation);
  }

  private findByToken(manager: EntityManager, tokenHash: Buffer, forUpdate: boolean): Promise<InvitationEntity | null> {
    const query = manager
      .getRepository(InvitationEntity)
      .createQueryBuilder('i')
      .where('i.tokenHash = :tokenHash', { tokenHash });
    if (forUpdate) query.setLock('pessimistic_write');
    return query.getOne();
  }

  /** The role must be the org's; groups and teams, if any, too. */
  private async validatedOffer(
    tx: EntityManager,
    request: { orgId: string; roleId: string; groupIds?: string[] | null; teamIds?: string[] | null },
  ) {
    const role = isId(request.roleId)
      ? await tx.findOneBy(RoleEntity, { id: request.roleId, orgId: request.orgId })
      : null;
    if (!role) throw new AppError('role.not_found', { field: 'roleId' });
    const groupIds = [...new Set(request.groupIds ?? [])];
    const teamIds = [...new Set(request.teamIds ?? [])];
    await this.assertInOrg(tx, 'groups', request.orgId, groupIds, 'groupIds');
    await this.assertInOrg(tx, 'teams', request.orgId, teamIds, 'teamIds');
    return { role, groupIds, teamIds };
  }

  private async assertInOrg(tx: EntityManager, table: 'groups' | 'teams', orgId: string, ids: string[], field: string) {
    if (ids.length === 0) return;
    const found = ids.every(isId)
      ? await tx.query(`SELECT id FROM ${table} WHERE org_id = $1 AND id = ANY($2::uuid[])`, [orgId, ids])
      : [];
    if (found.length !== ids.length) {
      throw new AppError('request.invalid_input', { message: `Unknown ${table} in this org`, field });
    }
  }

  /** Sent inside the transaction: if the mail server refuses it, the invitation is not created. */
  private async sendInvitation(
    tx: EntityManager,
    invitation: InvitationEntity,
    token: string,
    inviterId: string | null,
  ) {
    const org = await tx.findOneByOrFail(OrgEntity, { id: invitation.orgId });
    const role = await tx.findOneByOrFail(RoleEntity, { id: invitation.roleId });
    const inviter = inviterId ? await tx.findOneBy(UserEntity, { id: inviterId }) : null;
    const inviterName =
      [inviter?.firstName, inviter?.lastName].filter(Boolean).join(' ') || inviter?.email || 'An administrator';
    const message = invitationEmail(this.mailTemplates, this.linksBase, {
      to: invitation.email as string,
      orgName: org.name,
      inviterName,
      roleName: role.name,
      message: invitation.message,
      token,
      expiresAt: invitation.expiresAt,
      lifetimeSeconds: EMAIL_INVITATION_LIFETIME_MS / 1000,
    });
    try {
      await this.mailer.send(message);
    } catch (error) {
      throw new InvitationNotSentError(error);
    }
  }
}
