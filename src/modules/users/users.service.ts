import type { DataSource, EntityManager } from 'typeorm';
import { recordAudit, type AuditActor } from '../../core/audit/audit';
import { findLockedOrFail } from '../../core/db/rows';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { MembershipEntity, MembershipStatus } from '../members/membership.entity';
import { UserEntity } from './user.entity';

export type ProfileChanges = { firstName?: string | null; lastName?: string | null; defaultOrgId?: string | null };

export class UsersService {
  /** Case-insensitive; with an org, only among its members. */
  async findByEmail(db: DataSource, email: string, orgId?: string | null): Promise<UserEntity | null> {
    const query = db
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .where('lower(u.email) = lower(:email)', { email: email.trim() });
    if (orgId) {
      if (!isId(orgId)) return null;
      query.innerJoin('memberships', 'm', 'm.user_id = u.id AND m.org_id = :orgId', { orgId });
    }
    return query.getOne();
  }

  /** Names may be cleared with an empty string; null or absent leaves a field unchanged. */
  async updateProfile(tx: EntityManager, actor: AuditActor, id: string, changes: ProfileChanges): Promise<UserEntity> {
    const user = await findLockedOrFail(tx, UserEntity, id, 'user.not_found');
    const before = { firstName: user.firstName, lastName: user.lastName, defaultOrgId: user.defaultOrgId };
    if (changes.firstName != null) user.firstName = changes.firstName.trim() || null;
    if (changes.lastName != null) user.lastName = changes.lastName.trim() || null;
    if (changes.defaultOrgId != null) {
      const member =
        isId(changes.defaultOrgId) &&
        (await tx.existsBy(MembershipEntity, {
          userId: id,
          orgId: changes.defaultOrgId,
          status: MembershipStatus.ACTIVE,
        }));
      if (!member) throw new AppError('user.default_org_not_member', { field: 'defaultOrgId' });
      user.defaultOrgId = changes.defaultOrgId;
    }
    await tx.save(user);
    await recordAudit(tx, actor, {
      action: 'user.updated',
      subjectUserId: id,
      targetType: 'User',
      targetId: id,
      changes: {
        before,
        after: { firstName: user.firstName, lastName: user.lastName, defaultOrgId: user.defaultOrgId },
      },
    });
    return user;
  }
}
