import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { OrgEntity } from './org.entity';

export function createOrgLoaders(db: DataSource) {
  return { orgById: loaderById(db, OrgEntity) };
}
