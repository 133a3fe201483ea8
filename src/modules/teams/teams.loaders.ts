import type { DataSource } from 'typeorm';
import { idListLoader, loaderById } from '../../core/db/load-by-ids';
import { TeamEntity } from './team.entity';

export function createTeamLoaders(db: DataSource) {
  return {
    teamById: loaderById(db, TeamEntity),
    teamIdsByUserId: idListLoader(
      db,
      `SELECT tm.user_id AS key, t.id FROM team_members tm JOIN teams t ON t.id = tm.team_id
        WHERE tm.user_id = ANY($1::uuid[]) ORDER BY lower(t.name), t.id`,
    ),
  };
}
