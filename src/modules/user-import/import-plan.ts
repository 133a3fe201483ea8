import { AppError } from '../../core/errors/app-error';
import type { ErrorKey } from '../../core/errors/error-codes';
import { targetRankOf } from '../../core/permissions/permissions';
import { OWNER_RANK } from '../roles/role-rank';
import type { RoleEntity } from '../roles/role.entity';
import type { ImportLine } from './import-line';
import type { CatalogGroup, ExistingAccount, Named, OrgCatalog } from './import-state';

/** What the caller may grant in the org, read once before the import. */
export type Caller = {
  userId: string | null;
  permissions: ReadonlySet<string>;
  rank: number;
  /** Authority over a whole account (docs/security.md), which renaming a member needs; oneself: self-service. */
  authorityOverAccount(userId: string): Promise<true | AppError>;
};

/** What a line gives a person in the org. */
export type Offer = { role: RoleEntity; groups: CatalogGroup[]; teams: Named[] };

/** The details of a member that an import sets. */
export type MemberState = Offer & { firstName: string | null; lastName: string | null };

/**
 * What one line does. `create`: a new account, a member at once. `invite`: an account that exists
 * but is not a member is sent an invitation with the offer, and joins only if its holder accepts
 * (the line's names, password and customerId are not the importer's to set on someone else's
 * account). `update`: a member of the org changes; `current` holds its groups and teams now.
 */
export type LinePlan = CreatePlan | InvitePlan | UpdatePlan;
export type CreatePlan = { action: 'create'; after: MemberState };
export type InvitePlan = { action: 'invite'; account: ExistingAccount; offer: Offer };
export type UpdatePlan = {
  action: 'update';
  account: ExistingAccount;
  before: MemberState;
  after: MemberState;
  current: { groups: CatalogGroup[]; teams: Named[] };
};

/**
 * Decides a line against the org as it stands, in memory; null when it changes nothing. Throws an
 * AppError when the line names something unknown or breaks a rule of permissions.md.
 */
export function planLine(
  line: ImportLine,
  account: ExistingAccount | null,
  catalog: OrgCatalog,
  caller: Caller,
): LinePlan | null {
  const wanted = resolveNames(line, catalog);
  if (!account?.membership) {
    const offer: Offer = {
      role: wanted.role ?? viewerOf(catalog),
      groups: wanted.groups ?? [],
      teams: wanted.teams ?? [],
    };
    assertGrantable(caller, offer.role, offer.groups);
    assertMayChangeGrantHolders(caller, offer.groups);
    if (account) return { action: 'invite', account, offer };
    return {
      action: 'create',
      after: { firstName: line.firstName ?? null, lastName: line.lastName ?? null, ...offer },
    };
  }

  const current = {
    groups: known(account.groupIds, catalog.groupsById),
    teams: known(account.teamIds, catalog.teamsById),
  };
  const before: MemberState = {
    firstName: account.firstName,
    lastName: account.lastName,
    role: found(
      catalog.rolesById.get(account.membership.roleId),
      'import.unknown_role',
      'The member has an unknown role',
    ),
    ...current,
  };
  const after: MemberState = {
    firstName: line.firstName ?? before.firstName,
    lastName: line.lastName ?? before.lastName,
    role: wanted.role ?? before.role,
    groups: wanted.groups ?? current.groups,
    teams: wanted.teams ?? current.teams,
  };
  if (line.customerId !== undefined && line.customerId !== account.customerId) {
    throw new AppError('import.customer_id_fixed');
  }
  if (sameState(before, after)) return null;
  assertMayChange(caller, account.id === caller.userId, before, after);
  assertMayRegroup(caller, current, after);
  assertGrantable(caller, before.role.id === after.role.id ? null : after.role, added(current.groups, after.groups));
  assertMayChangeGrantHolders(caller, [...added(current.groups, after.groups), ...added(after.groups, current.groups)]);
  return { action: 'update', account, before, after, current };
}

/** Whether a member's names change: an act on their whole account, which may belong to other orgs. */
export function renamesAccount(plan: UpdatePlan): boolean {
  return plan.before.firstName !== plan.after.firstName || plan.before.lastName !== plan.after.lastName;
}

/** The role, groups and teams a line names; undefined where it names none. */
function resolveNames(line: ImportLine, catalog: OrgCatalog) {
  return {
    role:
      line.role === undefined
        ? undefined
        : found(catalog.role(line.role), 'import.unknown_role', `Unknown role "${line.role}"`),
    groups: line.groups?.map((name) => found(catalog.group(name), 'import.unknown_group', `Unknown group "${name}"`)),
    teams: line.teams?.map((name) => found(catalog.team(name), 'import.unknown_team', `Unknown team "${name}"`)),
  };
}

function viewerOf(catalog: OrgCatalog): RoleEntity {
  return found(catalog.role('viewer'), 'import.unknown_role', 'The org has no viewer role');
}

/**
 * Changing an existing member needs members:update (inviting alone adds people, as in
 * updateUser); nobody changes their own role; a change to another member needs a higher rank
 * (an owner: any).
 */
function assertMayChange(caller: Caller, isSelf: boolean, before: MemberState, after: MemberState) {
  if (!caller.permissions.has('members:update')) {
    throw new AppError('auth.forbidden', { message: 'Changing an existing member needs members:update' });
  }
  if (isSelf) {
    if (before.role.id !== after.role.id) throw new AppError('member.self_change');
  } else if (caller.rank < OWNER_RANK && targetRankOf(effectivePermissionsOf(before)) >= caller.rank) {
    throw new AppError('member.outranked');
  }
}

/**
 * A member's groups and teams change only as addGroupMembers/removeGroupMembers and
 * addTeamMembers/removeTeamMembers would let the caller change them: with groups:write and
 * teams:write, one's own included (members:update alone changes role and names).
 */
function assertMayRegroup(caller: Caller, current: { groups: Named[]; teams: Named[] }, after: MemberState) {
  if (!sameIds(current.groups, after.groups) && !caller.permissions.has('groups:write')) {
    throw new AppError('auth.forbidden', { message: "Changing a member's groups needs groups:write" });
  }
  if (!sameIds(current.teams, after.teams) && !caller.permissions.has('teams:write')) {
    throw new AppError('auth.forbidden', { message: "Changing a member's teams needs teams:write" });
  }
}

/**
 * A group's access grants reach whoever is in it, so putting someone into such a group or taking
 * them out needs access:grant, as grantAccess and revokeAccess do (docs/security.md).
 */
function assertMayChangeGrantHolders(caller: Caller, changedGroups: CatalogGroup[]) {
  if (caller.permissions.has('access:grant')) return;
  const granting = changedGroups.find((group) => group.holdsGrants);
  if (granting) {
    throw new AppError('group.holds_grants', {
      message: `The group "${granting.name}" holds access grants: changing who is in it needs access:grant`,
    });
  }
}

/**
 * Nothing granted, through the role (null: unchanged) or a joined group's role, may hold a
 * permission the caller lacks (permissions.md, escalation).
 */
function assertGrantable(caller: Caller, role: RoleEntity | null, joinedGroups: CatalogGroup[]) {
  if (role && !holdsAll(caller, role.permissions)) {
    throw new AppError('role.escalation', {
      message: `You cannot assign the role "${role.key}": it holds permissions you do not have`,
    });
  }
  for (const group of joinedGroups) {
    if (group.rolePermissions && !holdsAll(caller, group.rolePermissions)) {
      throw new AppError('role.escalation', {
        message: `You cannot add members to the group "${group.name}": its role holds permissions you do not have`,
      });
    }
  }
}

/** A member's own role and the roles of their groups, as permissions.md's inheritance has it. */
function effectivePermissionsOf(member: MemberState): string[] {
  return [...member.role.permissions, ...member.groups.flatMap((group) => group.rolePermissions ?? [])];
}

function found<T>(value: T | undefined, key: ErrorKey, message: string): T {
  if (value === undefined) throw new AppError(key, { message });
  return value;
}

/** The catalog entries for `ids`; one created since the catalog was read is not the import's concern. */
function known<T>(ids: string[], byId: Map<string, T>): T[] {
  return ids.flatMap((id) => byId.get(id) ?? []);
}

function holdsAll(caller: Caller, permissions: readonly string[]): boolean {
  return permissions.every((permission) => caller.permissions.has(permission));
}

/** The entries of `next` not in `previous`, by id. */
export function added<T extends Named>(previous: readonly T[], next: readonly T[]): T[] {
  const ids = new Set(previous.map((item) => item.id));
  return next.filter((item) => !ids.has(item.id));
}

function sameIds(x: readonly Named[], y: readonly Named[]): boolean {
  return x.length === y.length && added(x, y).length === 0;
}

function sameState(a: MemberState, b: MemberState): boolean {
  return (
    a.firstName === b.firstName &&
    a.lastName === b.lastName &&
    a.role.id === b.role.id &&
    sameIds(a.groups, b.groups) &&
    sameIds(a.teams, b.teams)
  );
}
