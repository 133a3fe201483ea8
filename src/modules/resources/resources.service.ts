import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { findLockedOrFail, saveUnique } from '../../core/db/rows';
import { queryRows } from '../../core/db/sql';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { MembershipEntity } from '../members/membership.entity';
import { AccessGrantEntity, type AccessLevel } from './access-grant.entity';
import { ResourceEntity } from './resource.entity';

const RESOURCE_NAME = { index: 'resources_org_name_key', conflict: 'resource.name_in_use', field: 'name' } as const;

export type ResourceFields = {
  name?: string | null;
  environment?: string | null;
  category?: string | null;
  customerIds?: string[] | null;
};

/** Resources, and the grants that give principals access to them. */
export class ResourcesService {
  async create(
    tx: EntityManager,
    actor: AuditActor,
    orgId: string,
    fields: ResourceFields & { name: string },
  ): Promise<ResourceEntity> {
    const resource = tx.create(ResourceEntity, {
      orgId,
      ...this.clean(fields),
      customerIds: [...new Set(fields.customerIds ?? [])],
    });
    await saveUnique(tx, resource, RESOURCE_NAME);
    await recordAudit(tx, actor, {
      action: 'resource.created',
      orgId,
      targetType: 'Resource',
      targetId: resource.id,
      changes: { after: this.describe(resource) },
    });
    return resource;
  }

  async update(tx: EntityManager, actor: AuditActor, id: string, fields: ResourceFields): Promise<ResourceEntity> {
    const resource = await findLockedOrFail(tx, ResourceEntity, id, 'resource.not_found');
    const before = this.describe(resource);
    Object.assign(resource, this.clean(fields));
    if (fields.customerIds) resource.customerIds = [...new Set(fields.customerIds)];
    await saveUnique(tx, resource, RESOURCE_NAME);
    await recordAudit(tx, actor, {
      action: 'resource.updated',
      orgId: resource.orgId,
      targetType: 'Resource',
      targetId: resource.id,
      changes: { before, after: this.describe(resource) },
    });
    return resource;
  }

  async delete(tx: EntityManager, actor: AuditActor, id: string): Promise<boolean> {
    const resource = await findLockedOrFail(tx, ResourceEntity, id, 'resource.not_found');
    await tx.delete(ResourceEntity, { id });
    await recordAudit(tx, actor, {
      action: 'resource.deleted',
      orgId: resource.orgId,
      targetType: 'Resource',
      targetId: id,
      changes: { before: this.describe(resource) },
    });
    return true;
  }

  /** Grants (or changes the level of) one principal's access: a user of the org or one of its groups. */
  async grant(
    tx: EntityManager,
    actor: AuditActor,
    resourceId: string,
    principalId: string,
    level: AccessLevel,
  ): Promise<AccessGrantEntity> {
    const resource = await findLockedOrFail(tx, ResourceEntity, resourceId, 'resource.not_found');
    const principal = await this.principalIn(tx, resource.orgId, principalId);
    const column = principal === 'group' ? 'group_id' : 'user_id';
    const [row] = await tx.query(
      `INSERT INTO access_grants (resource_id, ${column}, level, created_by_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (resource_id, ${column}) WHERE ${column} IS NOT NULL DO UPDATE SET level = EXCLUDED.level
       RETURNING id`,
      [resourceId, principalId, level, actor.actorId],
    );
    await recordAudit(tx, actor, {
      action: 'access.granted',
      orgId: resource.orgId,
      subjectUserId: principal === 'group' ? null : principalId,
      targetType: 'Resource',
      targetId: resourceId,
      changes: { after: { principalId, principalType: principal === 'group' ? 'Group' : 'User', level } },
    });
    return tx.findOneByOrFail(AccessGrantEntity, { id: row.id });
  }

  async revoke(tx: EntityManager, actor: AuditActor, grantId: string): Promise<boolean> {
    const grant = isId(grantId) ? await tx.findOneBy(AccessGrantEntity, { id: grantId }) : null;
    if (!grant) throw new AppError('grant.not_found');
    const resource = await findLockedOrFail(tx, ResourceEntity, grant.resourceId, 'resource.not_found');
    await tx.delete(AccessGrantEntity, { id: grantId });
    await recordAudit(tx, actor, {
      action: 'access.revoked',
      orgId: resource.orgId,
      subjectUserId: grant.userId,
      targetType: 'Resource',
      targetId: resource.id,
      changes: { before: { principalId: grant.userId ?? grant.groupId, level: grant.level } },
    });
    return true;
  }

  /**
   * Removes every path to the resource that a grant can remove: all grants, and the customerIds
   * that give customers READ. Org roles are untouched. Answers the number of grants removed.
   */
  async revokeAll(tx: EntityManager, actor: AuditActor, resourceId: string): Promise<number> {
    const resource = await findLockedOrFail(tx, ResourceEntity, resourceId, 'resource.not_found');
    const removed = await queryRows<{ id: string }>(
      tx,
      'DELETE FROM access_grants WHERE resource_id = $1 RETURNING id',
      [resourceId],
    );
    const customerIds = resource.customerIds;
    resource.customerIds = [];
    await tx.save(resource);
    await recordAudit(tx, actor, {
      action: 'access.revoked_all',
      orgId: resource.orgId,
      targetType: 'Resource',
      targetId: resourceId,
      changes: { before: { grants: removed.length, customerIds }, after: { grants: 0, customerIds: [] } },
    });
    return removed.length;
  }

  /** Whether the id names a member of the org (any kind) or a group of it; anything else is bad input. */
  private async principalIn(tx: EntityManager, orgId: string, principalId: string): Promise<'user' | 'group'> {
    if (isId(principalId)) {
      if (await tx.existsBy(MembershipEntity, { orgId, userId: principalId })) return 'user';
      const [group] = await tx.query('SELECT 1 FROM groups WHERE id = $1 AND org_id = $2', [principalId, orgId]);
      if (group) return 'group';
    }
    throw new AppError('grant.unknown_principal', { field: 'principalId' });
  }

  private clean(fields: ResourceFields) {
    return {
      ...(fields.name ? { name: fields.name.trim() } : {}),
      ...(fields.environment !== undefined ? { environment: fields.environment?.trim() || null } : {}),
      ...(fields.category !== undefined ? { category: fields.category?.trim() || null } : {}),
    };
  }

  private describe(resource: ResourceEntity) {
    const { name, environment, category, customerIds } = resource;
    return { name, environment, category, customerIds };
  }
}
