import type { KeysetList } from '../../core/graphql/keyset-pages';

/**
 * The caller's orgs by name: those where it is an active member, or every org for a super user.
 * The parent is the caller's own id.
 */
export function visibleOrgs(superUser: boolean): KeysetList<string> {
  return {
    key: superUser ? 'Query.orgs:all' : 'Query.orgs',
    cursorKind: 'orgs',
    sortType: 'text',
    direction: 'ASC',
    parentKey: (userId) => userId,
    rows: (userIds) => ({
      sql: superUser
        ? 'SELECT p.parent, o.id, o.name AS sort FROM unnest($1::uuid[]) AS p(parent) CROSS JOIN orgs o'
        : `SELECT m.user_id AS parent, o.id, o.name AS sort FROM memberships m JOIN orgs o ON o.id = m.org_id
            WHERE m.user_id = ANY($1::uuid[]) AND m.status = 'ACTIVE'`,
      params: [userIds],
    }),
  };
}
