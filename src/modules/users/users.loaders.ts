import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { UserEntity } from './user.entity';

export function createUserLoaders(db: DataSource) {
  return { userById: loaderById(db, UserEntity) };
}
