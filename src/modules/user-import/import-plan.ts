import { AppError } from '../../core/errors/app-error';
import type { ErrorKey } from '../../core/errors/error-codes';
import { rankOf } from '../../core/permissions/permissions';
import { OWNER_RANK } from '../roles/role-rank';
import type { RoleEntity } from '../roles/role.entity';
import type { ImportLine } from './import-line';
import type { CatalogGroup, ExistingAccount, Named, OrgCatalog } from './import-state';

/** What the caller may grant in the org, read once before the import. */
export type Caller = { userId: string | null; permissions: ReadonlySet<string>; rank: number };

/** The details of a member that an import sets. */
/** A member's own role and the roles of their groups, as permissions.md's inheritance has it. */
function effectivePermissionsOf(member: MemberState): string[] {
  return [...member.role.permissions, ...member.groups.flatMap((group) => group.rolePermissions ?? [])];
}

export type MemberState = {
  firstName: string | null;
  lastName: string | null;
  role: RoleEntity;
  groups: CatalogGroup[];
  teams: Named[];
};

/**
 * What one line does: create the account (`account` null), make an existing account a member
 * (`before` null), or change a member. `current` holds the groups and teams the account is in now.
 */
export type LinePlan = {
  account: ExistingAccount | null;
  before: MemberState | null;
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
  const current = {
    groups: known(account?.groupIds, catalog.groupsById),
    teams: known(account?.teamIds, catalog.teamsById),
  };
  const membership = account?.membership;
  const before: MemberState | null = membership
    ? {
        firstName: account.firstName,
        lastName: account.lastName,
        role: found(catalog.rolesById.get(membership.roleId), 'import.unknown_role', 'The member has an unknown role'),
        ...current,
      }
    : null;
  const after: MemberState = {
    ...newNames(line, account, before),
    role:
      wanted.role ?? before?.role ?? found(catalog.role('viewer'), 'import.unknown_role', 'The org has no viewer role'),
    groups: wanted.groups ?? current.groups,
    teams: wanted.teams ?? current.teams,
  };

  if (before && line.customerId !== undefined && line.customerId !== account?.customerId) {
    throw new AppError('import.customer_id_fixed');
  }
  if (before && sameState(before, after)) return null;
  assertAllowed(caller, account?.id === caller.userId, before, after, current.groups);
  return { account, before, after, current };
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

/**
 * The rules of permissions.md, for one line: changing an existing member needs members:update;
 * nobody changes their own role; a change to another
 * member needs a higher rank (an owner: any); nothing granted, through the role or a group's role,
 * may hold a permission the caller lacks.
 */
function assertAllowed(
  caller: Caller,
  isSelf: boolean,
  before: MemberState | null,
  after: MemberState,
  currentGroups: CatalogGroup[],
) {
  const roleChanges = before?.role.id !== after.role.id;
  // Inviting adds people; changing an existing member is members:update's, as in updateUser.
  if (before && !caller.permissions.has('members:update')) {
    throw new AppError('auth.forbidden', { message: 'Changing an existing member needs members:update' });
  }
  if (before && isSelf) {
    if (roleChanges) throw new AppError('member.self_change');
  } else if (before && caller.rank < OWNER_RANK && rankOf(effectivePermissionsOf(before)) >= caller.rank) {
    throw new AppError('member.outranked');
  }
  if (roleChanges && !holdsAll(caller, after.role.permissions)) {
    throw new AppError('role.escalation', {
      message: `You cannot assign the role "${after.role.key}": it holds permissions you do not have`,
    });
  }
  for (const group of added(currentGroups, after.groups)) {
    if (group.rolePermissions && !holdsAll(caller, group.rolePermissions)) {
      throw new AppError('role.escalation', {
        message: `You cannot add members to the group "${group.name}": its role holds permissions you do not have`,
      });
    }
  }
}

/**
 * An account that joins keeps its own names: it may belong to other orgs, which this import does
 * not speak for. A member's names change only where the line gives one.
 */
function newNames(line: ImportLine, account: ExistingAccount | null, before: MemberState | null) {
  if (account && !before) return { firstName: account.firstName, lastName: account.lastName };
  return {
    firstName: line.firstName ?? before?.firstName ?? null,
    lastName: line.lastName ?? before?.lastName ?? null,
  };
}

function found<T>(value: T | undefined, key: ErrorKey, message: string): T {
  if (value === undefined) throw new AppError(key, { message });
  return value;
}

/** The catalog entries for `ids`; one created since the catalog was read is not the import's concern. */
function known<T>(ids: string[] | undefined, byId: Map<string, T>): T[] {
  return (ids ?? []).flatMap((id) => byId.get(id) ?? []);
}

function holdsAll(caller: Caller, permissions: readonly string[]): boolean {
  return permissions.every((permission) => caller.permissions.has(permission));
}

/** The entries of `next` not in `previous`, by id. */
export function added<T extends Named>(previous: readonly T[], next: readonly T[]): T[] {
  const ids = new Set(previous.map((item) => item.id));
  return next.filter((item) => !ids.has(item.id));
}

function sameState(a: MemberState, b: MemberState): boolean {
  const sameIds = (x: Named[], y: Named[]) => x.length === y.length && added(x, y).length === 0;
  return (
    a.firstName === b.firstName &&
    a.lastName === b.lastName &&
    a.role.id === b.role.id &&
    sameIds(a.groups, b.groups) &&
    sameIds(a.teams, b.teams)
  );
}
