import type { EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { queryRows } from '../../core/db/sql';
import { AppError } from '../../core/errors/app-error';
import { isOwnerRole, lockOrg, otherActiveOwners } from '../roles/role-rank';
import { RoleEntity } from '../roles/role.entity';
import { MembershipEntity, MembershipStatus } from './membership.entity';

export type MemberTarget = { orgId: string; userId: string };

/**
 * Membership changes. The shield rules have already checked the caller's permission, rank and
 * escalation; these methods keep the data invariants (at least one owner) under an org lock.
 */
export class MembersService {
  async changeRole(
    tx: EntityManager,
    actor: AuditActor,
    target: MemberTarget,
    roleId: string,
  ): Promise<MembershipEntity> {
    const membership = await this.lockedMembership(tx, target);
    const [current, next] = await Promise.all([
      tx.findOneByOrFail(RoleEntity, { id: membership.roleId }),
      tx.findOneBy(RoleEntity, { id: roleId, orgId: target.orgId }),
    ]);
    if (!next) throw new AppError('role.not_found', { field: 'roleId' });
    if (current.id === next.id) return membership;
    await this.keepAnOwner(tx, membership, current, isOwnerRole(next.permissions));

    membership.roleId = next.id;
    await tx.save(membership);
    await recordAudit(tx, actor, {
      action: 'member.role_changed',
      orgId: target.orgId,
      subjectUserId: target.userId,
      targetType: 'User',
      targetId: target.userId,
      changes: { before: { role: current.key }, after: { role: next.key } },
    });
    return membership;
  }

  /**
   * Activates or deactivates a membership. A deactivated member's tokens and keys stop working in
   * this org from the next request on (access is read per request); nothing else changes.
   */
  async setStatus(
    tx: EntityManager,
    actor: AuditActor,
    target: MemberTarget,
    status: MembershipStatus,
  ): Promise<MembershipEntity> {
    const membership = await this.lockedMembership(tx, target);
    if (membership.status === status) return membership;
    if (status === MembershipStatus.DEACTIVATED) {
      await this.keepAnOwner(tx, membership, await tx.findOneByOrFail(RoleEntity, { id: membership.roleId }), false);
    }
    const before = membership.status;
    membership.status = status;
    await tx.save(membership);
    await recordAudit(tx, actor, {
      action: status === MembershipStatus.ACTIVE ? 'member.activated' : 'member.deactivated',
      orgId: target.orgId,
      subjectUserId: target.userId,
      targetType: 'User',
      targetId: target.userId,
      changes: { before: { status: before }, after: { status } },
    });
    return membership;
  }

  /** Removes the membership; the account remains. Its sessions stop acting in the org at once. */
  async removeMember(tx: EntityManager, actor: AuditActor, target: MemberTarget): Promise<boolean> {
    const membership = await this.lockedMembership(tx, target);
    const role = await tx.findOneByOrFail(RoleEntity, { id: membership.roleId });
    await this.keepAnOwner(tx, membership, role, false);

    const params = [target.userId, target.orgId];
    await tx.query(
      'DELETE FROM team_members WHERE user_id = $1 AND team_id IN (SELECT id FROM teams WHERE org_id = $2)',
      params,
    );
    await tx.query(
      'DELETE FROM group_members WHERE user_id = $1 AND group_id IN (SELECT id FROM groups WHERE org_id = $2)',
      params,
    );
    // What the membership carried goes with it, so joining again restores nothing unasked: the
    // person's own grants on the org's resources, and their keys for the org.
    const grantsRemoved = await queryRows(
      tx,
      `DELETE FROM access_grants WHERE user_id = $1 AND resource_id IN (SELECT id FROM resources WHERE org_id = $2)
       RETURNING id`,
      params,
    );
    const keysRevoked = await queryRows(
      tx,
      `UPDATE api_keys SET status = 'REVOKED', revoked_at = now()
        WHERE owner_id = $1 AND org_id = $2 AND status <> 'REVOKED' RETURNING id`,
      params,
    );
    await tx.query('UPDATE sessions SET org_id = NULL WHERE user_id = $1 AND org_id = $2', params);
    await tx.query('UPDATE users SET default_org_id = NULL WHERE id = $1 AND default_org_id = $2', params);
    await tx.delete(MembershipEntity, { id: membership.id });
    await recordAudit(tx, actor, {
      action: 'member.removed',
      orgId: target.orgId,
      subjectUserId: target.userId,
      targetType: 'User',
      targetId: target.userId,
      changes: {
        before: { role: role.key, status: membership.status },
        grantsRemoved: grantsRemoved.length,
        keysRevoked: keysRevoked.length,
      },
    });
    return true;
  }

  private async lockedMembership(tx: EntityManager, target: MemberTarget): Promise<MembershipEntity> {
    if (!(await lockOrg(tx, target.orgId))) throw new AppError('org.not_found');
    const membership = await tx.findOneBy(MembershipEntity, { orgId: target.orgId, userId: target.userId });
    if (!membership) throw new AppError('member.not_found');
    return membership;
  }

  /** Refuses a change that would leave the org with no active owner. */
  private async keepAnOwner(tx: EntityManager, membership: MembershipEntity, current: RoleEntity, staysOwner: boolean) {
    const isActiveOwner = membership.status === MembershipStatus.ACTIVE && isOwnerRole(current.permissions);
    if (!isActiveOwner || staysOwner) return;
    if ((await otherActiveOwners(tx, membership.orgId, { userId: membership.userId })) === 0) {
      throw new AppError('member.last_owner');
    }
  }
}
