import { listByParentId } from '../../core/graphql/keyset-pages';

/** An org's groups by name; every group of the org (Org.groups needs groups:read there). */
export const orgGroups = listByParentId({
  key: 'Org.groups',
  cursorKind: 'groups',
  sortType: 'text',
  direction: 'ASC',
  sql: 'SELECT g.org_id AS parent, g.id, lower(g.name) AS sort FROM groups g WHERE g.org_id = ANY($1::uuid[])',
});

/**
 * A group's members of every kind by email; service accounts, who have none, last. The sort
 * value is one text so that the keyset stays a plain (sort, id) comparison.
 */
export const groupMembers = listByParentId({
  key: 'Group.members',
  cursorKind: 'groupMembers',
  sortType: 'text',
  direction: 'ASC',
  sql: `SELECT gm.group_id AS parent, u.id,
               CASE WHEN u.email IS NULL THEN '1' ELSE '0' || lower(u.email) END AS sort
          FROM group_members gm JOIN users u ON u.id = gm.user_id
         WHERE gm.group_id = ANY($1::uuid[])`,
});
