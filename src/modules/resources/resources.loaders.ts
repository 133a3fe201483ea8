import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { idListLoader, loaderByColumn, loaderById } from '../../core/db/load-by-ids';
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
    grantsByResourceId: loaderByColumn(db, AccessGrantEntity, 'resourceId'),
    grantById: loaderById(db, AccessGrantEntity),
    /** Ids of the CUSTOMER members whose customerId the resource lists, by email: one query per batch. */
    customerIdsByResourceId: idListLoader(
      db,
      `SELECT r.id AS key, u.id
         FROM resources r
         JOIN memberships m ON m.org_id = r.org_id
         JOIN users u ON u.id = m.user_id AND u.kind = 'CUSTOMER' AND u.customer_id = ANY (r.customer_ids)
        WHERE r.id = ANY ($1::uuid[])
        ORDER BY u.email, u.id`,
    ),
  };
}
