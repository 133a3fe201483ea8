import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { ApiKeyEntity } from './api-key.entity';

export function createApiKeyLoaders(db: DataSource) {
  return { apiKeyById: loaderById(db, ApiKeyEntity) };
}
