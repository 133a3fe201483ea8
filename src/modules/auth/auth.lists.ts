import { listByParentId } from '../../core/graphql/keyset-pages';

/**
 * A user's active sessions, newest first. By start rather than by last refresh: a refresh would
 * move a session across a cursor while a client pages.
 */
export const activeSessions = listByParentId({
  key: 'Query.sessions',
  cursorKind: 'sessions',
  sortType: 'timestamptz',
  direction: 'DESC',
  sql: `SELECT s.user_id AS parent, s.id, s.created_at AS sort FROM sessions s
         WHERE s.user_id = ANY($1::uuid[]) AND s.revoked_at IS NULL AND s.expires_at > now()`,
});
