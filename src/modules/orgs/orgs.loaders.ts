import type { DataSource } from 'typeorm';
import { loaderByColumn, loaderById } from '../../core/db/load-by-ids';
import { OrgEntity } from './org.entity';

export function createOrgLoaders(db: DataSource) {
  const orgsBySlug = loaderByColumn(db, OrgEntity, 'slug');
  return {
    orgById: loaderById(db, OrgEntity),
    orgBySlug: { load: async (slug: string) => (await orgsBySlug.load(slug))[0] ?? null },
  };
}
