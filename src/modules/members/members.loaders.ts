import type { DataSource } from 'typeorm';
import { loaderByColumn } from '../../core/db/load-by-ids';
import { MembershipEntity } from './membership.entity';

export function createMemberLoaders(db: DataSource) {
  return { membershipsByUserId: loaderByColumn(db, MembershipEntity, 'userId') };
}
