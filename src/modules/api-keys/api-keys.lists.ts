import { listByParentId, type KeysetList } from '../../core/graphql/keyset-pages';

/** Every key of an org, newest first (Org.apiKeys needs apikeys:read there). */
export const orgApiKeys = listByParentId({
  key: 'Org.apiKeys',
  cursorKind: 'apiKeys',
  sortType: 'timestamptz',
  direction: 'DESC',
  sql: 'SELECT k.org_id AS parent, k.id, k.created_at AS sort FROM api_keys k WHERE k.org_id = ANY($1::uuid[])',
});

/** An org's service accounts, members of any status, by first name (Org.serviceAccounts needs members:read). */
export const orgServiceAccounts = listByParentId({
  key: 'Org.serviceAccounts',
  cursorKind: 'serviceAccounts',
  sortType: 'text',
  direction: 'ASC',
  sql: `SELECT m.org_id AS parent, u.id, lower(coalesce(u.first_name, '')) AS sort
          FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = ANY($1::uuid[]) AND u.kind = 'SERVICE_ACCOUNT'`,
});

/** A key owner, and the orgs whose keys of theirs the caller may see ('all': every one). */
type KeyOwner = { userId: string; orgIds: readonly string[] | 'all' };

/** The keys a user owns in the orgs the caller may see them in, newest first. */
export function userApiKeys(callerId: string): KeysetList<KeyOwner> {
  return {
    key: `User.apiKeys:${callerId}`,
    cursorKind: 'apiKeys',
    sortType: 'timestamptz',
    direction: 'DESC',
    parentKey: (owner) => owner.userId,
    rows: (owners) => {
      const pairs = owners.flatMap((owner) =>
        owner.orgIds === 'all' ? [] : owner.orgIds.map((orgId) => [owner.userId, orgId]),
      );
      return {
        sql: `SELECT k.owner_id AS parent, k.id, k.created_at AS sort FROM api_keys k
               WHERE k.owner_id = ANY($1::uuid[])
                  OR (k.owner_id, k.org_id) IN (SELECT * FROM unnest($2::uuid[], $3::uuid[]))`,
        params: [
          owners.filter((owner) => owner.orgIds === 'all').map((owner) => owner.userId),
          pairs.map(([userId]) => userId),
          pairs.map(([, orgId]) => orgId),
        ],
      };
    },
  };
}
