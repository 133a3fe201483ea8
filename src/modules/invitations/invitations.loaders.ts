import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { InvitationEntity } from './invitation.entity';

export function createInvitationLoaders(db: DataSource) {
  return { invitationById: loaderById(db, InvitationEntity) };
}
