import type { EntityManager } from 'typeorm';
import { AppError } from '../../core/errors/app-error';
import { slugify } from '../orgs/slug';

/**
 * Names are unique within an org, ignoring case: two teams the same but for case would be told
 * apart only by slug. Callers hold the org lock, so the check cannot race another write.
 */
export async function assertTeamNameFree(
  tx: EntityManager,
  orgId: string,
  name: string,
  exceptTeamId: string | null = null,
): Promise<void> {
  const rows = await tx.query(
    'SELECT 1 FROM teams WHERE org_id = $1 AND lower(name) = lower($2) AND ($3::uuid IS NULL OR id <> $3)',
    [orgId, name, exceptTeamId],
  );
  if (rows.length > 0) throw new AppError('team.name_in_use', { field: 'name' });
}

/**
 * The slug for a team name: its slugified form, or the first free `-2`, `-3`… variant when
 * another team's different name slugifies the same ("Back end" and "Back-end").
 */
export async function freeTeamSlug(
  tx: EntityManager,
  orgId: string,
  name: string,
  exceptTeamId: string | null = null,
): Promise<string> {
  const base = slugify(name, 'team');
  // A slug holds only [a-z0-9-], so it needs no escaping inside a LIKE pattern.
  const rows: Array<{ slug: string }> = await tx.query(
    `SELECT slug FROM teams
      WHERE org_id = $1 AND (slug = $2 OR slug LIKE $2 || '-%') AND ($3::uuid IS NULL OR id <> $3)`,
    [orgId, base, exceptTeamId],
  );
  const taken = new Set(rows.map((row) => row.slug));
  let candidate = base;
  for (let n = 2; taken.has(candidate); n++) candidate = `${base}-${n}`;
  return candidate;
}
