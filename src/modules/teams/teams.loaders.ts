import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { TeamEntity } from './team.entity';

/**
 * A per-request loader of ordered id lists: `sql` takes the keys as $1 and returns `key, id` rows
 * in the order each list should keep. Callers load the rows themselves through the by-id loaders.
 */
function idListLoader(db: DataSource, sql: string) {
  return new DataLoader<string, string[]>(async (keys) => {
    const rows: Array<{ key: string; id: string }> = await db.query(sql, [keys]);
    const lists = new Map<string, string[]>(keys.map((key) => [key, []]));
    for (const row of rows) lists.get(row.key)?.push(row.id);
    return keys.map((key) => lists.get(key) ?? []);
  });
}

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

/** The rows for an id list, in its order, through a by-id loader: one batched look-up per tick. */
export async function loadAll<T>(loader: { load(id: string): Promise<T | null> }, ids: string[]): Promise<T[]> {
  const rows: Array<T | null> = await Promise.all(ids.map((id) => loader.load(id)));
  return rows.filter((row): row is T => row !== null);
}
