import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { isUniqueViolation } from '../../core/db/pg-errors';
import { queryRows } from '../../core/db/sql';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { lockOrg } from '../roles/role-rank';
import { RoleEntity } from '../roles/role.entity';
import { GroupEntity } from './group.entity';

export type NewGroup = { orgId: string; name: string; roleId?: string | null };
/** `roleId`: undefined keeps the group's role, null removes it. */
export type GroupChanges = { name?: string | null; roleId?: string | null };

const idsOf = (rows: Array<{ user_id: string }>) => rows.map((row) => row.user_id).sort();

/**
 * Groups and their members. The shield rules have checked the caller's permission and that no
 * role reaches anyone through a group with a permission the caller lacks; these methods keep the
 * data invariants (same-org roles and members, unique names) in one transaction under the org
 * lock, which removeMember also takes, so nobody joins a group while leaving its org.
 */
export class GroupsService {
  async createGroup(tx: EntityManager, actor: AuditActor, input: NewGroup): Promise<GroupEntity> {
    if (!(await lockOrg(tx, input.orgId))) throw new AppError('org.not_found');
    const role = input.roleId ? await this.orgRole(tx, input.orgId, input.roleId) : null;
    const group = tx.create(GroupEntity, { orgId: input.orgId, name: input.name.trim(), roleId: role?.id ?? null });
    await this.saveNamed(tx, group);
    await this.audit(tx, actor, group, 'group.created', { after: { name: group.name, role: role?.key ?? null } });
    return group;
  }

  /** Renames the group or replaces its role; a change to nothing is no change and is not audited. */
  async updateGroup(tx: EntityManager, actor: AuditActor, id: string, changes: GroupChanges): Promise<GroupEntity> {
    const group = await this.lockedGroup(tx, id);
    const before = { name: group.name, role: await this.roleKey(tx, group.roleId) };
    if (changes.name) group.name = changes.name.trim();
    if (changes.roleId !== undefined) {
      group.roleId = changes.roleId === null ? null : (await this.orgRole(tx, group.orgId, changes.roleId)).id;
    }
    const after = { name: group.name, role: await this.roleKey(tx, group.roleId) };
    if (before.name === after.name && before.role === after.role) return group;
    await this.saveNamed(tx, group);
    await this.audit(tx, actor, group, 'group.updated', { before, after });
    return group;
  }

  /** Its members lose what the group gave them from the next request on; grants to it go with it. */
  async deleteGroup(tx: EntityManager, actor: AuditActor, id: string): Promise<boolean> {
    const group = await this.lockedGroup(tx, id);
    const [{ count }] = await tx.query('SELECT count(*)::int AS count FROM group_members WHERE group_id = $1', [
      group.id,
    ]);
    const role = await this.roleKey(tx, group.roleId);
    await tx.delete(GroupEntity, { id: group.id });
    await this.audit(tx, actor, group, 'group.deleted', { before: { name: group.name, role, memberCount: count } });
    return true;
  }

  /** Every principal must be a member of the group's org (any kind, any status); otherwise none is added. */
  async addMembers(
    tx: EntityManager,
    actor: AuditActor,
    groupId: string,
    principalIds: string[],
  ): Promise<GroupEntity> {
    const group = await this.lockedGroup(tx, groupId);
    // Postgres answers uuids in lower case; compare like with like.
    const requested = [...new Set(principalIds.map((id) => id.toLowerCase()))];
    const members = new Set(await this.orgMemberIds(tx, group.orgId, requested));
    const stranger = requested.find((id) => !members.has(id));
    if (stranger) {
      throw new AppError('group.member_not_in_org', {
        message: `${stranger} is not a member of this org`,
        field: 'principalIds',
      });
    }
    const added = await queryRows<{ user_id: string }>(
      tx,
      `INSERT INTO group_members (group_id, user_id) SELECT $1, unnest($2::uuid[])
       ON CONFLICT DO NOTHING RETURNING user_id`,
      [group.id, requested],
    );
    if (added.length > 0) {
      await this.audit(tx, actor, group, 'group.members_added', { after: { principalIds: idsOf(added) } });
    }
    return group;
  }

  /** Principals who are not in the group are skipped: removing is idempotent. */
  async removeMembers(
    tx: EntityManager,
    actor: AuditActor,
    groupId: string,
    principalIds: string[],
  ): Promise<GroupEntity> {
    const group = await this.lockedGroup(tx, groupId);
    const removed = await queryRows<{ user_id: string }>(
      tx,
      'DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2::uuid[]) RETURNING user_id',
      [group.id, principalIds.filter(isId)],
    );
    if (removed.length > 0) {
      await this.audit(tx, actor, group, 'group.members_removed', { before: { principalIds: idsOf(removed) } });
    }
    return group;
  }

  private audit(
    tx: EntityManager,
    actor: AuditActor,
    group: GroupEntity,
    action: string,
    changes: Record<string, unknown>,
  ) {
    return recordAudit(tx, actor, { action, orgId: group.orgId, targetType: 'Group', targetId: group.id, changes });
  }

  /** The group, read again once its org is locked: a concurrent delete may have won the race. */
  private async lockedGroup(tx: EntityManager, id: string): Promise<GroupEntity> {
    const unlocked = isId(id) ? await tx.findOneBy(GroupEntity, { id }) : null;
    if (!unlocked || !(await lockOrg(tx, unlocked.orgId))) throw new AppError('group.not_found');
    const group = await tx.findOneBy(GroupEntity, { id });
    if (!group) throw new AppError('group.not_found');
    return group;
  }

  private async orgRole(tx: EntityManager, orgId: string, roleId: string): Promise<RoleEntity> {
    const role = isId(roleId) ? await tx.findOneBy(RoleEntity, { id: roleId, orgId }) : null;
    if (!role) throw new AppError('role.not_found', { field: 'roleId' });
    return role;
  }

  private async roleKey(tx: EntityManager, roleId: string | null): Promise<string | null> {
    return roleId ? ((await tx.findOneBy(RoleEntity, { id: roleId }))?.key ?? null) : null;
  }

  private async orgMemberIds(tx: EntityManager, orgId: string, userIds: string[]): Promise<string[]> {
    const rows: Array<{ user_id: string }> = await tx.query(
      'SELECT user_id FROM memberships WHERE org_id = $1 AND user_id = ANY($2::uuid[])',
      [orgId, userIds.filter(isId)],
    );
    return rows.map((row) => row.user_id);
  }

  private async saveNamed(tx: EntityManager, group: GroupEntity): Promise<void> {
    try {
      await tx.save(group);
    } catch (error) {
      if (isUniqueViolation(error, 'groups_org_name_key')) throw new AppError('group.name_in_use', { field: 'name' });
      throw error;
    }
  }
}
