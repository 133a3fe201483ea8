import type { EntityManager } from 'typeorm';
import type { MembershipStatus } from '../members/membership.entity';
import { RoleEntity } from '../roles/role.entity';
import type { PrincipalKind } from '../users/user.entity';

export type Named = { id: string; name: string };
/** A group with its role's permissions and whether it holds access grants (its members reach them). */
export type CatalogGroup = Named & { rolePermissions: string[] | null; holdsGrants: boolean };

/** The org's roles, groups and teams, read once per import and looked up by name in memory. */
export class OrgCatalog {
  private readonly rolesByKey: Map<string, RoleEntity>;
  private readonly rolesByName: Map<string, RoleEntity>;
  private readonly groupsByName: Map<string, CatalogGroup>;
  private readonly teamsByName: Map<string, Named>;
  readonly rolesById: Map<string, RoleEntity>;
  readonly groupsById: Map<string, CatalogGroup>;
  readonly teamsById: Map<string, Named>;

  constructor(roles: RoleEntity[], groups: CatalogGroup[], teams: Array<Named & { slug: string }>) {
    this.rolesById = new Map(roles.map((role) => [role.id, role]));
    this.rolesByKey = new Map(roles.map((role) => [role.key.toLowerCase(), role]));
    this.rolesByName = new Map(roles.map((role) => [role.name.toLowerCase(), role]));
    this.groupsById = new Map(groups.map((group) => [group.id, group]));
    this.groupsByName = new Map(groups.map((group) => [group.name.toLowerCase(), group]));
    this.teamsById = new Map(teams.map((team) => [team.id, team]));
    // Team names need not be unique, slugs are: a name shared by two teams names neither, so
    // the file must give the slug instead.
    const nameUses = new Map<string, number>();
    for (const team of teams) nameUses.set(team.name.toLowerCase(), (nameUses.get(team.name.toLowerCase()) ?? 0) + 1);
    this.teamsByName = new Map([
      ...teams.map((team) => [team.slug, team] as const),
      ...teams
        .filter((team) => nameUses.get(team.name.toLowerCase()) === 1)
        .map((team) => [team.name.toLowerCase(), team] as const),
    ]);
  }

  static async load(tx: EntityManager, orgId: string): Promise<OrgCatalog> {
    const roles = await tx.findBy(RoleEntity, { orgId });
    const groups = await tx.query(
      `SELECT g.id, g.name, r.permissions AS "rolePermissions",
              EXISTS (SELECT 1 FROM access_grants a WHERE a.group_id = g.id) AS "holdsGrants"
         FROM groups g LEFT JOIN roles r ON r.id = g.role_id
        WHERE g.org_id = $1`,
      [orgId],
    );
    const teams = await tx.query('SELECT id, name, slug FROM teams WHERE org_id = $1', [orgId]);
    return new OrgCatalog(roles, groups, teams);
  }

  /** By key first (`viewer`), then by name (`Viewer`), case-insensitively. */
  role(keyOrName: string): RoleEntity | undefined {
    const wanted = keyOrName.toLowerCase();
    return this.rolesByKey.get(wanted) ?? this.rolesByName.get(wanted);
  }

  group(name: string): CatalogGroup | undefined {
    return this.groupsByName.get(name.toLowerCase());
  }

  team(name: string): Named | undefined {
    return this.teamsByName.get(name.toLowerCase());
  }
}

/** An account the file names, with its place in the org if it has one. */
export type ExistingAccount = {
  id: string;
  firstName: string | null;
  lastName: string | null;
  kind: PrincipalKind;
  customerId: string | null;
  membership: { roleId: string; status: MembershipStatus } | null;
  groupIds: string[];
  teamIds: string[];
};

/** Every account among `emails` in one query, keyed by lower-cased email. */
export async function loadAccounts(
  tx: EntityManager,
  orgId: string,
  emails: string[],
): Promise<Map<string, ExistingAccount>> {
  const rows: Array<
    ExistingAccount & { emailKey: string; roleId: string | null; membershipStatus: MembershipStatus | null }
  > = await tx.query(
    `SELECT u.id, lower(u.email) AS "emailKey", u.first_name AS "firstName", u.last_name AS "lastName", u.kind,
              u.customer_id AS "customerId", m.role_id AS "roleId", m.status AS "membershipStatus",
              ARRAY(SELECT gm.group_id FROM group_members gm JOIN groups g ON g.id = gm.group_id
                     WHERE gm.user_id = u.id AND g.org_id = $1) AS "groupIds",
              ARRAY(SELECT tm.team_id FROM team_members tm JOIN teams t ON t.id = tm.team_id
                     WHERE tm.user_id = u.id AND t.org_id = $1) AS "teamIds"
         FROM users u LEFT JOIN memberships m ON m.user_id = u.id AND m.org_id = $1
        WHERE lower(u.email) = ANY($2::text[])`,
    [orgId, emails.map((email) => email.toLowerCase())],
  );
  return new Map(
    rows.map(({ emailKey, roleId, membershipStatus, ...account }) => [
      emailKey,
      { ...account, membership: roleId && membershipStatus ? { roleId, status: membershipStatus } : null },
    ]),
  );
}

/**
 * Which of `emails` already have an account, and whether it is a member of the org (read before the
 * transaction, to skip needless hashing and to count the invitations against their limit).
 */
export async function registeredEmails(
  db: EntityManager,
  orgId: string,
  emails: string[],
): Promise<Map<string, { member: boolean }>> {
  const rows: Array<{ email: string; member: boolean }> = await db.query(
    `SELECT lower(u.email) AS email,
            EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.org_id = $1) AS member
       FROM users u WHERE lower(u.email) = ANY($2::text[])`,
    [orgId, emails.map((email) => email.toLowerCase())],
  );
  return new Map(rows.map(({ email, member }) => [email, { member }]));
}
