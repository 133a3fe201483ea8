import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { BUILT_IN_ROLES } from '../../core/permissions/permissions';
import { MembershipEntity, MembershipStatus } from '../members/membership.entity';
import { RoleEntity } from '../roles/role.entity';
import { OrgEntity } from './org.entity';

export type NewOrg = { name: string; slug: string };

export class OrgsService {
  /** Creates the org with its built-in roles and makes `ownerId` its owner, audited as one change. */
  async createOrg(tx: EntityManager, input: NewOrg, ownerId: string, actor: AuditActor): Promise<OrgEntity> {
    const org = await tx.save(tx.create(OrgEntity, { name: input.name, slug: input.slug }));
    const roles = await tx.save(
      BUILT_IN_ROLES.map((role) =>
        tx.create(RoleEntity, { orgId: org.id, key: role.key, name: role.name, builtIn: true, permissions: [...role.permissions] }),
      ),
    );
    const ownerRole = roles.find((role) => role.key === 'owner');
    if (!ownerRole) throw new Error('built-in owner role missing');
    await tx.insert(MembershipEntity, { orgId: org.id, userId: ownerId, roleId: ownerRole.id, status: MembershipStatus.ACTIVE });
    await recordAudit(tx, actor, {
      action: 'org.created',
      orgId: org.id,
      targetType: 'Org',
      targetId: org.id,
      changes: { after: { name: org.name, slug: org.slug, ownerId } },
    });
    return org;
  }
}
