import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { SessionEntity } from './session.entity';

export function createAuthLoaders(db: DataSource) {
  return { sessionById: loaderById(db, SessionEntity) };
}
