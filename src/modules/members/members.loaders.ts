import type { DataSource } from 'typeorm';
import { loaderByColumn, loaderById } from '../../core/db/load-by-ids';
import { MembershipEntity } from './membership.entity';

export function createMemberLoaders(db: DataSource) {
  return {
    membershipById: loaderById(db, MembershipEntity),
    membershipsByUserId: loaderByColumn(db, MembershipEntity, 'userId'),
  };
}
