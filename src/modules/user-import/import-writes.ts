import type { EntityManager } from 'typeorm';
import { AppError } from '../../core/errors/app-error';
import { MembershipStatus } from '../members/membership.entity';
import { isOwnerRole, otherActiveOwners } from '../roles/role-rank';
import { PrincipalKind } from '../users/user.entity';
import type { ImportLine } from './import-line';
import { added, type CreatePlan, type MemberState, type UpdatePlan } from './import-plan';
import type { Named } from './import-state';

// The statements one line runs: as few as possible, since a call may hold ten thousand lines and
// each statement is a round trip. The caller wraps them in the line's savepoint.

/**
 * A new, active account (a CUSTOMER when the line gives a customerId), its active membership and
 * its groups and teams, in one statement. Imported members get no invitation and no email.
 */
export async function insertMember(
  tx: EntityManager,
  orgId: string,
  line: ImportLine,
  plan: CreatePlan,
  passwordHash: string | null,
  invitedById: string | null,
): Promise<string> {
  const { firstName, lastName, role, groups, teams } = plan.after;
  const kind = line.customerId ? PrincipalKind.CUSTOMER : PrincipalKind.HUMAN;
  const params: unknown[] = [
    line.email,
    firstName,
    lastName,
    kind,
    line.customerId ?? null,
    passwordHash,
    orgId,
    role.id,
    invitedById,
  ];
  // Links are added only when there are some: planning the statement is a good part of its cost.
  const links = [['group_members', 'group_id', groups] as const, ['team_members', 'team_id', teams] as const]
    .filter(([, , items]) => items.length > 0)
    .map(([table, column, items]) => {
      params.push(items.map((item) => item.id));
      return `, ${column}s AS (INSERT INTO ${table} (${column}, user_id) SELECT unnest($${params.length}::uuid[]), id FROM account)`;
    });
  const [{ id }] = await tx.query(
    `WITH account AS (
       INSERT INTO users (email, first_name, last_name, kind, customer_id, password_hash, password_changed_at)
       VALUES ($1, $2, $3, $4, $5, $6::text, CASE WHEN $6::text IS NULL THEN NULL ELSE now() END)
       RETURNING id
     ), membership AS (
       INSERT INTO memberships (org_id, user_id, role_id, invited_by_id) SELECT $7, id, $8, $9 FROM account
     ) ${links.join(' ')}
     SELECT id FROM account`,
    params,
  );
  return id;
}

/** A member's first and last names, which belong to their account rather than to this org. */
export async function renameAccount(tx: EntityManager, userId: string, { firstName, lastName }: MemberState) {
  await tx.query('UPDATE users SET first_name = $2, last_name = $3, updated_at = now() WHERE id = $1', [
    userId,
    firstName,
    lastName,
  ]);
}

/** A member's role; the org keeps an active owner (the caller holds the org lock). */
export async function changeMemberRole(tx: EntityManager, orgId: string, plan: UpdatePlan) {
  const { before, after, account } = plan;
  if (before.role.id === after.role.id) return;
  const demotesAnOwner = isOwnerRole(before.role.permissions) && !isOwnerRole(after.role.permissions);
  if (
    demotesAnOwner &&
    account.membership?.status === MembershipStatus.ACTIVE &&
    (await otherActiveOwners(tx, orgId, { userId: account.id })) === 0
  ) {
    throw new AppError('member.last_owner');
  }
  await tx.query('UPDATE memberships SET role_id = $3, updated_at = now() WHERE org_id = $1 AND user_id = $2', [
    orgId,
    account.id,
    after.role.id,
  ]);
}

/** Brings the member's groups and teams in the org to exactly those the plan lists. */
export async function syncGroupsAndTeams(tx: EntityManager, plan: UpdatePlan) {
  const userId = plan.account.id;
  await syncLinks(tx, 'group_members', 'group_id', userId, plan.current.groups, plan.after.groups);
  await syncLinks(tx, 'team_members', 'team_id', userId, plan.current.teams, plan.after.teams);
}

async function syncLinks(
  tx: EntityManager,
  table: 'group_members' | 'team_members',
  column: 'group_id' | 'team_id',
  userId: string,
  current: Named[],
  next: Named[],
) {
  const joined = added(current, next).map((item) => item.id);
  const left = added(next, current).map((item) => item.id);
  if (left.length > 0) {
    await tx.query(`DELETE FROM ${table} WHERE user_id = $1 AND ${column} = ANY($2::uuid[])`, [userId, left]);
  }
  if (joined.length > 0) {
    await tx.query(`INSERT INTO ${table} (${column}, user_id) SELECT unnest($2::uuid[]), $1::uuid`, [userId, joined]);
  }
}
