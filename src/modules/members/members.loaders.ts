import type { DataSource } from 'typeorm';
import { loaderByColumn, loaderById } from '../../core/db/load-by-ids';
import { memberAccessLoader } from './member-access';
import { MembershipEntity } from './membership.entity';

export function createMemberLoaders(db: DataSource) {
  return {
    membershipById: loaderById(db, MembershipEntity),
    membershipsByUserId: loaderByColumn(db, MembershipEntity, 'userId'),
    /** Keyed by memberAccessKey(userId, orgId). */
    memberAccess: memberAccessLoader(db),
    /**
     * Orgs a user was seen to belong to in this request's rows (a member page), by user id: enough
     * to find that the caller may see them without reading all of their memberships.
     */
    listedMemberOrgs: new Map<string, Set<string>>(),
  };
}
