import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { saveUnique } from '../../core/db/rows';
import { AppError } from '../../core/errors/app-error';
import { slugify } from '../orgs/slug';
import { isOwnerRole, lockOrg, otherActiveOwners } from './role-rank';
import { RoleEntity } from './role.entity';

const ROLE_NAME = { index: 'roles_org_name_key', conflict: 'role.name_in_use', field: 'name' } as const;

export type NewRole = { orgId: string; name: string; permissions: string[] };
export type RoleChanges = { name?: string | null; permissions?: string[] | null };

/** Custom roles. The shield rules have checked that the caller holds every permission granted. */
export class RolesService {
  async createRole(tx: EntityManager, actor: AuditActor, input: NewRole): Promise<RoleEntity> {
    if (!(await lockOrg(tx, input.orgId))) throw new AppError('org.not_found');
    const permissions = [...new Set(input.permissions)].sort();
    const role = tx.create(RoleEntity, {
      orgId: input.orgId,
      key: await this.freeKey(tx, input.orgId, slugify(input.name, 'role')),
      name: input.name.trim(),
      builtIn: false,
      permissions,
    });
    await saveUnique(tx, role, ROLE_NAME);
    await recordAudit(tx, actor, {
      action: 'role.created',
      orgId: input.orgId,
      targetType: 'Role',
      targetId: role.id,
      changes: { after: { key: role.key, name: role.name, permissions } },
    });
    return role;
  }

  async updateRole(tx: EntityManager, actor: AuditActor, id: string, changes: RoleChanges): Promise<RoleEntity> {
    const role = await this.lockedCustomRole(tx, id);
    const before = { name: role.name, permissions: role.permissions };
    if (changes.name) role.name = changes.name.trim();
    if (changes.permissions) {
      const permissions = [...new Set(changes.permissions)].sort();
      if (isOwnerRole(role.permissions) && !isOwnerRole(permissions)) {
        if ((await otherActiveOwners(tx, role.orgId, { roleId: role.id })) === 0)
          throw new AppError('member.last_owner');
      }
      role.permissions = permissions;
    }
    await saveUnique(tx, role, ROLE_NAME);
    await recordAudit(tx, actor, {
      action: 'role.updated',
      orgId: role.orgId,
      targetType: 'Role',
      targetId: role.id,
      changes: { before, after: { name: role.name, permissions: role.permissions } },
    });
    return role;
  }

  /** A role still held by a member, a group or a pending invitation cannot be deleted. */
  async deleteRole(tx: EntityManager, actor: AuditActor, id: string): Promise<boolean> {
    const role = await this.lockedCustomRole(tx, id);
    const [{ in_use: inUse }] = await tx.query(
      `SELECT EXISTS (SELECT 1 FROM memberships WHERE role_id = $1)
           OR EXISTS (SELECT 1 FROM groups WHERE role_id = $1)
           OR EXISTS (SELECT 1 FROM invitations WHERE role_id = $1 AND status = 'PENDING') AS in_use`,
      [role.id],
    );
    if (inUse) throw new AppError('role.in_use');
    await tx.delete(RoleEntity, { id: role.id });
    await recordAudit(tx, actor, {
      action: 'role.deleted',
      orgId: role.orgId,
      targetType: 'Role',
      targetId: role.id,
      changes: { before: { key: role.key, name: role.name, permissions: role.permissions } },
    });
    return true;
  }

  private async lockedCustomRole(tx: EntityManager, id: string): Promise<RoleEntity> {
    const unlocked = await tx.findOneBy(RoleEntity, { id });
    if (!unlocked || !(await lockOrg(tx, unlocked.orgId))) throw new AppError('role.not_found');
    const role = await tx.findOneBy(RoleEntity, { id });
    if (!role) throw new AppError('role.not_found');
    if (role.builtIn) throw new AppError('role.built_in');
    return role;
  }

  private async freeKey(tx: EntityManager, orgId: string, base: string): Promise<string> {
    const rows: Array<{ key: string }> = await tx.query('SELECT key FROM roles WHERE org_id = $1', [orgId]);
    const taken = new Set(rows.map((row) => row.key));
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base}-${n}`;
    return candidate;
  }
}
