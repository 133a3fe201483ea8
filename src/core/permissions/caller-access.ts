import type { Principal } from '../context/context';
import { AppError } from '../errors/app-error';
import type { Loaders } from '../../loaders';
import { PrincipalKind } from '../../modules/users/user.entity';
import { MembershipStatus, type MembershipEntity } from '../../modules/members/membership.entity';
import { PERMISSIONS, rankOf, targetRankOf } from './permissions';
import { emailUnverifiedIn } from './verified-email';

/** A super user outranks every role, owners included. */
export const SUPER_USER_RANK = Number.MAX_SAFE_INTEGER;

const ALL_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSIONS);
const NONE: ReadonlySet<string> = new Set();
/** A member the org shuts out until they verify their email address (its requireVerifiedEmail). */
const EMAIL_UNVERIFIED = 'email_unverified';

/**
 * What the caller may do in each org, read through the request's loaders on every request, so a
 * role change or removal applies to the next one. Rules ask this; nothing trusts a token's claims.
 */
export class CallerAccess {
  /** Read when asked: sign-in sets the principal midway through a request, and mutations renew loaders. */
  constructor(
    private readonly currentPrincipal: () => Principal | null,
    private readonly currentLoaders: () => Loaders,
  ) {}

  private get loaders(): Loaders {
    return this.currentLoaders();
  }

  private get principal(): Principal | null {
    return this.currentPrincipal();
  }

  get userId(): string | null {
    return this.principal?.userId ?? null;
  }

  get isSuperUser(): boolean {
    return this.principal?.superUser === true;
  }

  /** The caller's active membership in the org, if any. */
  async membership(orgId: string): Promise<MembershipEntity | null> {
    if (!this.principal || !this.reaches(orgId)) return null;
    return activeMembership(this.loaders, this.principal.userId, orgId);
  }

  /**
   * A member's role, capped by the key's scopes when the caller uses an API key. A member an org
   * shuts out for an unverified email holds nothing there (their other orgs are untouched); a
   * refusal says why through `refusal`. Never throws: rules combine answers (`or`), and a thrown
   * error would sink an alternative that allows, such as reading one's own membership.
   */
  async permissions(orgId: string): Promise<ReadonlySet<string>> {
    const held = await this.heldPermissions(orgId);
    return held === EMAIL_UNVERIFIED ? NONE : held;
  }

  /** Why a permission check in the org failed: its email rule, or the caller's role. */
  async refusal(orgId: string): Promise<AppError> {
    return (await this.heldPermissions(orgId)) === EMAIL_UNVERIFIED
      ? new AppError('auth.email_unverified')
      : new AppError('auth.forbidden');
  }

  private async heldPermissions(orgId: string): Promise<ReadonlySet<string> | typeof EMAIL_UNVERIFIED> {
    if (this.isSuperUser) return ALL_PERMISSIONS;
    if (!this.principal || !this.reaches(orgId)) return NONE;
    if (await this.shutOutFor(orgId)) return EMAIL_UNVERIFIED;
    // Customers hold no org permissions: they reach resources only through customerIds and grants.
    if (this.principal.kind === PrincipalKind.CUSTOMER) return NONE;
    const held = await memberPermissions(this.loaders, this.principal.userId, orgId);
    const scopes = this.principal.scopes;
    return scopes ? new Set(scopes.filter((scope) => held.has(scope))) : held;
  }

  /**
   * Whether the org shuts the caller out until they verify their email address. Only an active
   * member is: anyone else holds nothing there anyway.
   */
  async shutOutFor(orgId: string): Promise<boolean> {
    const principal = this.principal;
    if (!principal || principal.kind === PrincipalKind.SERVICE_ACCOUNT) return false;
    if (!(await activeMembership(this.loaders, principal.userId, orgId))) return false;
    // The org first: usually loaded already, and most orgs do not require it, so no account read.
    const org = await this.loaders.orgById.load(orgId);
    if (!org?.requireVerifiedEmail) return false;
    const user = await this.loaders.userById.load(principal.userId);
    return user !== null && emailUnverifiedIn(user, org);
  }

  /** An API key acts only in the org it was issued for. */
  private reaches(orgId: string): boolean {
    return this.principal?.apiKeyId == null || this.principal.orgId === orgId;
  }

  async can(orgId: string, permission: string): Promise<boolean> {
    return (await this.permissions(orgId)).has(permission);
  }

  /** Whether the org is visible to the caller at all: a member, or a super user. */
  async canSeeOrg(orgId: string): Promise<boolean> {
    if (this.isSuperUser) return (await this.loaders.orgById.load(orgId)) !== null;
    return (await this.membership(orgId)) !== null;
  }

  async rank(orgId: string): Promise<number> {
    if (this.isSuperUser) return SUPER_USER_RANK;
    return rankOf([...(await this.permissions(orgId))]);
  }

  /** The orgs where the caller holds `permission`, among those given; an org that shuts them out is left out. */
  async orgsWhere(permission: string, orgIds: string[]): Promise<string[]> {
    const held = await Promise.all(orgIds.map((orgId) => this.heldPermissions(orgId)));
    return orgIds.filter((_, index) => {
      const permissions = held[index];
      return permissions !== EMAIL_UNVERIFIED && permissions.has(permission);
    });
  }
}

export async function activeMembership(
  loaders: Loaders,
  userId: string,
  orgId: string,
): Promise<MembershipEntity | null> {
  const memberships = await loaders.membershipsByUserId.load(userId);
  return (
    memberships.find((membership) => membership.orgId === orgId && membership.status === MembershipStatus.ACTIVE) ??
    null
  );
}

/**
 * What a member may do in an org: the union of their own role's permissions and those of the
 * roles of their groups there, so they hold at least the higher of the two (permissions.md) —
 * and nothing without an active membership.
 */
export async function memberPermissions(loaders: Loaders, userId: string, orgId: string): Promise<ReadonlySet<string>> {
  return (await activeMembership(loaders, userId, orgId)) ? effectivePermissions(loaders, userId, orgId) : NONE;
}

/**
 * The permissions a membership carries, own role and group roles, whatever its status: rank rules
 * judge a target by this, so a deactivated owner stays out of an admin's reach. Three batched
 * reads (memberships, group links, roles), whichever the number of users asked about.
 */
export async function effectivePermissions(
  loaders: Loaders,
  userId: string,
  orgId: string,
): Promise<ReadonlySet<string>> {
  const [memberships, groups] = await Promise.all([
    loaders.membershipsByUserId.load(userId),
    loaders.groupLinksByUserId.load(userId),
  ]);
  const membership = memberships.find((candidate) => candidate.orgId === orgId);
  if (!membership) return NONE;
  const groupRoleIds = groups.flatMap((group) => (group.orgId === orgId && group.roleId ? [group.roleId] : []));
  // Not loadMany: it answers a failed read with an Error in the list, and skipping that one would
  // deny (a database outage read as FORBIDDEN) instead of failing.
  const roles = await Promise.all([membership.roleId, ...groupRoleIds].map((roleId) => loaders.roleById.load(roleId)));
  return new Set(roles.flatMap((role) => role?.permissions ?? []));
}

/** The rank a member is protected by in rank rules (`targetRankOf` of `effectivePermissions`). */
export async function effectiveRank(loaders: Loaders, userId: string, orgId: string): Promise<number> {
  return targetRankOf([...(await effectivePermissions(loaders, userId, orgId))]);
}
