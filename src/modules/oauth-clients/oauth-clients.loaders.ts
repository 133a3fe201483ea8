import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { OAuthClientEntity } from './oauth-client.entity';

export function createOAuthClientLoaders(db: DataSource) {
  return { oauthClientById: loaderById(db, OAuthClientEntity) };
}
