import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { entityRowShape } from '../../core/db/entity-rows';
import { isId } from '../../core/ids';
import { OrgEntity } from '../orgs/org.entity';
import { MembershipEntity } from './membership.entity';

/**
 * What one user holds in one org: the org (null if there is none), their membership whatever its
 * status (null if none), and the permissions it carries — own role and group roles, none without
 * a membership. The caller's status and permissions decide access; a target's decide rank rules.
 */
export type MemberAccess = {
  org: OrgEntity | null;
  membership: MembershipEntity | null;
  permissions: ReadonlySet<string>;
};

const NOTHING: MemberAccess = { org: null, membership: null, permissions: new Set() };

/** The loader's key for a user in an org. */
export const memberAccessKey = (userId: string, orgId: string) => `${userId}:${orgId}`;

/** The org row, the membership and the union of own and group role permissions, per wanted pair. */
const statement = (orgColumns: string, membershipColumns: string) => `
    SELECT w.user_id::text AS "wantedUser", w.org_id::text AS "wantedOrg", ${orgColumns}, ${membershipColumns},
           CASE WHEN m.id IS NULL THEN '{}'::text[] ELSE ARRAY(
             SELECT DISTINCT permission
               FROM roles r CROSS JOIN LATERAL unnest(r.permissions) AS permission
              WHERE r.id = m.role_id
                 OR r.id IN (SELECT g.role_id FROM group_members gm JOIN groups g ON g.id = gm.group_id
                              WHERE gm.user_id = w.user_id AND g.org_id = w.org_id)) END AS permissions
      FROM unnest($1::uuid[], $2::uuid[]) AS w(user_id, org_id)
      LEFT JOIN orgs o ON o.id = w.org_id
      LEFT JOIN memberships m ON m.org_id = w.org_id AND m.user_id = w.user_id`;

const statements = new WeakMap<DataSource, string>();

/**
 * One statement for every (user, org) pair asked in a tick: the org row, the membership and the
 * union of the role permissions, where separate loaders took four (memberships, group links,
 * roles, org) and built the union again on every field checked.
 */
export function memberAccessLoader(db: DataSource) {
  const orgRow = entityRowShape(db, OrgEntity);
  const membershipRow = entityRowShape(db, MembershipEntity);
  let sql = statements.get(db);
  if (!sql) statements.set(db, (sql = statement(orgRow.select('o', 'o_'), membershipRow.select('m', 'm_'))));
  const text = sql;
  return new DataLoader<string, MemberAccess>(async (keys) => {
    const pairs = keys.map((key) => key.split(':')).filter(([userId, orgId]) => isId(userId) && isId(orgId));
    const rows: Array<Record<string, unknown>> = pairs.length
      ? await db.query(text, [pairs.map(([userId]) => userId), pairs.map(([, orgId]) => orgId)])
      : [];
    // By the ids as PostgreSQL prints them, as the by-id loaders match: an id spelled in capitals
    // finds nothing, there as here.
    const found = new Map<string, MemberAccess>();
    for (const row of rows) {
      found.set(memberAccessKey(row.wantedUser as string, row.wantedOrg as string), {
        org: row.o_id === null ? null : orgRow.read(row, 'o_'),
        membership: row.m_id === null ? null : membershipRow.read(row, 'm_'),
        permissions: new Set(row.permissions as string[]),
      });
    }
    return keys.map((key) => found.get(key) ?? NOTHING);
  });
}
