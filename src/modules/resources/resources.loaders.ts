import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { loaderByColumn, loaderById } from '../../core/db/load-by-ids';
import { AccessGrantEntity } from './access-grant.entity';
import { ResourceEntity } from './resource.entity';

const pairKey = (orgId: string, name: string) => `${orgId}\u0000${name}`;

export function createResourceLoaders(db: DataSource) {
  return {
    resourceById: loaderById(db, ResourceEntity),
    /** Resources by (org, name): one query per batch of access checks. */
    resourceByName: new DataLoader<{ orgId: string; name: string }, ResourceEntity | null, string>(
      async (keys) => {
        const rows = await db
          .getRepository(ResourceEntity)
          .createQueryBuilder('r')
          .where('(r.org_id, r.name) IN (SELECT * FROM unnest(:orgIds::uuid[], :names::text[]))', {
            orgIds: keys.map((key) => key.orgId),
            names: keys.map((key) => key.name),
          })
          .getMany();
        const found = new Map(rows.map((row) => [pairKey(row.orgId, row.name), row]));
        return keys.map((key) => found.get(pairKey(key.orgId, key.name)) ?? null);
      },
      { cacheKeyFn: (key) => pairKey(key.orgId, key.name) },
    ),
    resourcesByOrgId: loaderByColumn(db, ResourceEntity, 'orgId'),
    grantsByResourceId: loaderByColumn(db, AccessGrantEntity, 'resourceId'),
    grantById: loaderById(db, AccessGrantEntity),
  };
}
