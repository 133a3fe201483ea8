import { listByParentId } from '../../core/graphql/keyset-pages';

/** An org's teams by name; every team of the org (Org.teams needs teams:read there). */
export const orgTeams = listByParentId({
  key: 'Org.teams',
  cursorKind: 'teams',
  sortType: 'text',
  direction: 'ASC',
  sql: 'SELECT t.org_id AS parent, t.id, lower(t.name) AS sort FROM teams t WHERE t.org_id = ANY($1::uuid[])',
});

/** A team's members by email, as `users` lists members by default. */
export const teamMembers = listByParentId({
  key: 'Team.members',
  cursorKind: 'teamMembers',
  sortType: 'text',
  direction: 'ASC',
  sql: `SELECT tm.team_id AS parent, u.id, lower(coalesce(u.email, '')) AS sort
          FROM team_members tm JOIN users u ON u.id = tm.user_id
         WHERE tm.team_id = ANY($1::uuid[])`,
});
