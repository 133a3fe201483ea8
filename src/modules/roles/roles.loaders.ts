import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { RoleEntity } from './role.entity';

export function createRoleLoaders(db: DataSource) {
  return { roleById: loaderById(db, RoleEntity) };
}
