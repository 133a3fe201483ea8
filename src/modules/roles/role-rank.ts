import type { EntityManager } from 'typeorm';
import { PERMISSIONS } from '../../core/permissions/permissions';

/** An owner is a member whose role holds every permission: the built-in owner or its equal. */
export const OWNER_RANK = 4;

export function isOwnerRole(permissions: readonly string[]): boolean {
  const held = new Set(permissions);
  return PERMISSIONS.every((permission) => held.has(permission));
}

/**
 * Counts the org's active owners other than `exceptUserId` and outside `exceptRoleId`. Callers
 * lock the org row first, so two concurrent demotions cannot both see the other as the last owner.
 */
export async function otherActiveOwners(
  tx: EntityManager,
  orgId: string,
  exclude: { userId?: string; roleId?: string },
): Promise<number> {
  const [{ count }] = await tx.query(
    `SELECT count(*)::int AS count
       FROM memberships m JOIN roles r ON r.id = m.role_id
      WHERE m.org_id = $1 AND m.status = 'ACTIVE' AND r.permissions @> $2::text[]
        AND ($3::uuid IS NULL OR m.user_id <> $3) AND ($4::uuid IS NULL OR r.id <> $4)`,
    [orgId, [...PERMISSIONS], exclude.userId ?? null, exclude.roleId ?? null],
  );
  return count;
}

/** Serialises every change to an org's memberships and roles that could touch its owners. */
export async function lockOrg(tx: EntityManager, orgId: string): Promise<boolean> {
  const rows = await tx.query('SELECT id FROM orgs WHERE id = $1 FOR UPDATE', [orgId]);
  return rows.length > 0;
}
