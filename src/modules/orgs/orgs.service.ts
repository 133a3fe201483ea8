import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { findLockedOrFail, saveUnique } from '../../core/db/rows';
import { AppError } from '../../core/errors/app-error';
import { mayBeShutOut } from '../../core/permissions/verified-email';
import { BUILT_IN_ROLES } from '../../core/permissions/permissions';
import { MembershipEntity, MembershipStatus } from '../members/membership.entity';
import { RoleEntity } from '../roles/role.entity';
import { UserEntity } from '../users/user.entity';
import { OrgEntity } from './org.entity';

const ORG_SLUG = { index: 'orgs_slug_key', conflict: 'org.slug_in_use', field: 'slug' } as const;

export type NewOrg = { name: string; slug: string };

export type OrgChanges = Partial<NewOrg> & { requireVerifiedEmail?: boolean };

export class OrgsService {
  /** Creates the org with its built-in roles and makes `ownerId` its owner, audited as one change. */
  async createOrg(tx: EntityManager, input: NewOrg, ownerId: string, actor: AuditActor): Promise<OrgEntity> {
    const org = await saveUnique(tx, tx.create(OrgEntity, { name: input.name.trim(), slug: input.slug }), ORG_SLUG);
    const roles = await tx.save(
      BUILT_IN_ROLES.map((role) =>
        tx.create(RoleEntity, {
          orgId: org.id,
          key: role.key,
          name: role.name,
          builtIn: true,
          permissions: [...role.permissions],
        }),
      ),
    );
    const ownerRole = roles.find((role) => role.key === 'owner');
    if (!ownerRole) throw new Error('built-in owner role missing');
    await tx.insert(MembershipEntity, {
      orgId: org.id,
      userId: ownerId,
      roleId: ownerRole.id,
      status: MembershipStatus.ACTIVE,
    });
    await recordAudit(tx, actor, {
      action: 'org.created',
      orgId: org.id,
      targetType: 'Org',
      targetId: org.id,
      changes: { after: { name: org.name, slug: org.slug, ownerId } },
    });
    return org;
  }

  async updateOrg(tx: EntityManager, actor: AuditActor, id: string, changes: OrgChanges): Promise<OrgEntity> {
    const org = await findLockedOrFail(tx, OrgEntity, id, 'org.not_found');
    const before = { name: org.name, slug: org.slug, requireVerifiedEmail: org.requireVerifiedEmail };
    if (changes.name) org.name = changes.name.trim();
    if (changes.slug) org.slug = changes.slug;
    if (changes.requireVerifiedEmail && !org.requireVerifiedEmail) await assertNotShutOutBy(tx, actor);
    if (changes.requireVerifiedEmail !== undefined) org.requireVerifiedEmail = changes.requireVerifiedEmail;
    await saveUnique(tx, org, ORG_SLUG);
    await recordAudit(tx, actor, {
      action: 'org.updated',
      orgId: org.id,
      targetType: 'Org',
      targetId: org.id,
      changes: {
        before,
        after: { name: org.name, slug: org.slug, requireVerifiedEmail: org.requireVerifiedEmail },
      },
    });
    return org;
  }
}

/** Turning the requirement on must not shut out the very person doing it: they verify first. */
async function assertNotShutOutBy(tx: EntityManager, actor: AuditActor): Promise<void> {
  const account = actor.actorId ? await tx.findOneBy(UserEntity, { id: actor.actorId }) : null;
  if (account && mayBeShutOut(account)) {
    throw new AppError('auth.email_unverified', {
      message: 'Verify your own email address before the org requires verified addresses',
    });
  }
}
