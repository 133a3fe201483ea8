import { listByParentId } from '../../core/graphql/keyset-pages';

/** An org's OAuth clients by name (Org.oauthClients needs clients:read there). */
export const orgOAuthClients = listByParentId({
  key: 'Org.oauthClients',
  cursorKind: 'oauthClients',
  sortType: 'text',
  direction: 'ASC',
  sql: 'SELECT c.org_id AS parent, c.id, lower(c.name) AS sort FROM oauth_clients c WHERE c.org_id = ANY($1::uuid[])',
});
