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
 * AppError when the line names something unknown or would break a rule of permissions.md: no
 * escalation (through the role or a group's role), rank, and nobody changing their own role.
 */
export function planLine(
  line: ImportLine,
  account: ExistingAccount | null,
  catalog: OrgCatalog,
  caller: Caller,
): LinePlan | null {
  const role =
    line.role === undefined
      ? undefined
      : found(catalog.role(line.role), 'import.unknown_role', `Unknown role "${line.role}"`);
  const groups = line.groups?.map((name) =>
    found(catalog.group(name), 'import.unknown_group', `Unknown group "${name}"`),
  );
  const teams = line.teams?.map((name) => found(catalog.team(name), 'import.unknown_team', `Unknown team "${name}"`));

  const current = {
    groups: known(account?.groupIds, catalog.groupsById),
    teams: known(account?.teamIds, catalog.teamsById),
  };
  const member = account?.membership ? { ...account, membership: account.membership } : null;
  const before: MemberState | null = member && {
    firstName: member.firstName,
    lastName: member.lastName,
    role: found(
      catalog.rolesById.get(member.membership.roleId),
      'import.unknown_role',
      'The member has an unknown role',
    ),
    ...current,
  };
  const after: MemberState = {
    ...newNames(line, account, before),
    role: role ?? before?.role ?? found(catalog.role('viewer'), 'import.unknown_role', 'The org has no viewer role'),
    groups: groups ?? current.groups,
    teams: teams ?? current.teams,
  };

  if (member && line.customerId !== undefined && line.customerId !== member.customerId) {
    throw new AppError('import.customer_id_fixed');
  }
  if (before && sameState(before, after)) return null;

  const roleChanges = before?.role.id !== after.role.id;
  if (member?.id === caller.userId) {
    if (roleChanges) throw new AppError('member.self_change');
  } else if (before && caller.rank < OWNER_RANK && rankOf(before.role.permissions) >= caller.rank) {
    throw new AppError('member.outranked');
  }
  if (roleChanges && !holdsAll(caller, after.role.permissions)) {
    throw new AppError('role.escalation', {
      message: `You cannot assign the role "${after.role.key}": it holds permissions you do not have`,
    });
  }
  for (const group of added(current.groups, after.groups)) {
    if (group.rolePermissions && !holdsAll(caller, group.rolePermissions)) {
      throw new AppError('role.escalation', {
        message: `You cannot add members to the group "${group.name}": its role holds permissions you do not have`,
      });
    }
  }
  return { account, before, after, current };
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
