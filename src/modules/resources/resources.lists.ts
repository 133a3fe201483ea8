import { listByParentId, type KeysetList } from '../../core/graphql/keyset-pages';

/** An org whose resources are listed, and whether the caller sees its whole catalogue there. */
type ResourceParent = { orgId: string; readsAll: boolean };

/**
 * An org's resources by name: all of them where the caller holds resources:read, elsewhere those
 * the caller may READ. That is `decideAccess` at READ for the caller as SQL (an active account and
 * membership, not shut out by the org's requireVerifiedEmail, then a direct grant, a grant to one of
 * its groups, or a customerId match; the two must change together), so that
 * the page and its count are one statement each, whatever the org's size.
 */
export function orgResources(callerId: string): KeysetList<ResourceParent> {
  return {
    key: `Org.resources:${callerId}`,
    cursorKind: 'resources',
    sortType: 'text',
    direction: 'ASC',
    parentKey: (parent) => parent.orgId,
    rows: (parents) => ({
      sql: `SELECT r.org_id AS parent, r.id, r.name AS sort FROM resources r
             WHERE r.org_id = ANY($1::uuid[])
                OR (r.org_id = ANY($2::uuid[]) AND EXISTS (
                     SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                      WHERE m.org_id = r.org_id AND m.user_id = $3 AND m.status = 'ACTIVE'
                        AND u.status = 'ACTIVE' AND u.locked_at IS NULL
                        AND NOT EXISTS (SELECT 1 FROM orgs o
                                         WHERE o.id = r.org_id AND o.require_verified_email
                                           AND u.email_verified_at IS NULL AND u.kind <> 'SERVICE_ACCOUNT'
                                           AND NOT u.super_user)
                        AND (EXISTS (SELECT 1 FROM access_grants g WHERE g.resource_id = r.id AND g.user_id = u.id)
                          OR EXISTS (SELECT 1 FROM access_grants g JOIN group_members gm ON gm.group_id = g.group_id
                                      WHERE g.resource_id = r.id AND gm.user_id = u.id)
                          OR (u.kind = 'CUSTOMER' AND u.customer_id = ANY(r.customer_ids)))))`,
      params: [
        parents.filter((parent) => parent.readsAll).map((parent) => parent.orgId),
        parents.filter((parent) => !parent.readsAll).map((parent) => parent.orgId),
        callerId,
      ],
    }),
  };
}

/** A resource's grants, oldest first (Resource.grants needs resources:read in its org). */
export const resourceGrants = listByParentId({
  key: 'Resource.grants',
  cursorKind: 'grants',
  sortType: 'timestamptz',
  direction: 'ASC',
  sql: 'SELECT g.resource_id AS parent, g.id, g.created_at AS sort FROM access_grants g WHERE g.resource_id = ANY($1::uuid[])',
});

/** A group's grants, oldest first (Group.grants needs resources:read in its org). */
export const groupGrants = listByParentId({
  key: 'Group.grants',
  cursorKind: 'grants',
  sortType: 'timestamptz',
  direction: 'ASC',
  sql: 'SELECT g.group_id AS parent, g.id, g.created_at AS sort FROM access_grants g WHERE g.group_id = ANY($1::uuid[])',
});
