import type { DataSource } from 'typeorm';
import { loaderByColumn, loaderById } from '../../core/db/load-by-ids';
import { RoleEntity } from './role.entity';

export function createRoleLoaders(db: DataSource) {
  return { roleById: loaderById(db, RoleEntity), rolesByOrgId: loaderByColumn(db, RoleEntity, 'orgId') };
}
