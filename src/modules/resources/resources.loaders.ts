import DataLoader from 'dataloader';
import { In, type DataSource } from 'typeorm';
import { loaderByColumn, loaderById } from '../../core/db/load-by-ids';
import { PrincipalKind, UserEntity } from '../users/user.entity';
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
    /** CUSTOMER members whose customerId the resource lists, by email: one query for every resource of a batch. */
    customersByResourceId: new DataLoader<string, UserEntity[]>(async (resourceIds) => {
      const rows: Array<{ resource_id: string; user_id: string }> = await db.query(
        `SELECT r.id AS resource_id, u.id AS user_id
           FROM resources r
           JOIN memberships m ON m.org_id = r.org_id
           JOIN users u ON u.id = m.user_id AND u.kind = $2 AND u.customer_id = ANY (r.customer_ids)
          WHERE r.id = ANY ($1::uuid[])
          ORDER BY u.email, u.id`,
        [[...resourceIds], PrincipalKind.CUSTOMER],
      );
      const users = new Map(
        (await db.getRepository(UserEntity).findBy({ id: In([...new Set(rows.map((row) => row.user_id))]) })).map(
          (user) => [user.id, user],
        ),
      );
      const byResource = new Map<string, UserEntity[]>();
      for (const row of rows) {
        byResource.set(row.resource_id, [...(byResource.get(row.resource_id) ?? []), users.get(row.user_id)!]);
      }
      return resourceIds.map((id) => byResource.get(id) ?? []);
    }),
  };
}
