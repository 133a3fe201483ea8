import type { Principal } from '../context/context';
import { AppError } from '../errors/app-error';
import type { Loaders } from '../../loaders';
import { PrincipalKind } from '../../modules/users/user.entity';
import { memberAccessKey, type MemberAccess } from '../../modules/members/member-access';
import { MembershipStatus, type MembershipEntity } from '../../modules/members/membership.entity';
import { PERMISSIONS, rankOf, targetRankOf } from './permissions';
import { emailUnverifiedIn } from './verified-email';

/** A super user outranks every role, owners included. */
export const SUPER_USER_RANK = Number.MAX_SAFE_INTEGER;

const ALL_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSIONS);
const NONE: ReadonlySet<string> = new Set();
/** A member the org shuts out until they verify their email address (its requireVerifiedEmail). */
const EMAIL_UNVERIFIED = 'email_unverified';

/** What the caller holds in each org, and rule decisions, for one principal and one set of loaders. */
type Memo = {
  principal: Principal | null;
  loaders: Loaders;
  held: Map<string, Promise<ReadonlySet<string> | typeof EMAIL_UNVERIFIED>>;
  decisions: Map<string, Promise<unknown>>;
  rules: RuleDecisions;
};

/** Shield rule answers by rule and scope key (shield.ts): running, or settled. */
export type RuleDecisions = Map<string, { pending: Promise<unknown> } | { decision: unknown }>;

/**
 * What the caller may do in each org, read through the request's loaders on every request, so a
 * role change or removal applies to the next one. Rules ask this; nothing trusts a token's claims.
 * Each org's permissions are worked out once per request (one Set, not one per field checked),
 * and again only when the principal or the loaders change (a sign-in, a mutation).
 */
export class CallerAccess {
  private memo: Memo | null = null;

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

  private get current(): Memo {
    const principal = this.principal;
    const loaders = this.loaders;
    if (this.memo?.principal !== principal || this.memo.loaders !== loaders) {
      this.memo = { principal, loaders, held: new Map(), decisions: new Map(), rules: new Map() };
    }
    return this.memo;
  }

  get userId(): string | null {
    return this.principal?.userId ?? null;
  }

  get isSuperUser(): boolean {
    return this.principal?.superUser === true;
  }

  /**
   * A decision that depends only on the caller and `key` (e.g. a permission in one org), made once
   * per request however many rows ask: rules of a hundred-row page cost one evaluation.
   */
  decide<T>(key: string, decision: () => Promise<T>): Promise<T> {
    const decisions = this.current.decisions;
    let answer = decisions.get(key) as Promise<T> | undefined;
    if (!answer) decisions.set(key, (answer = decision()));
    return answer;
  }

  /** The shield rules' answers for the caller and the request's current reads (shield.ts). */
  ruleDecisions(): RuleDecisions {
    return this.current.rules;
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

  private heldPermissions(orgId: string): Promise<ReadonlySet<string> | typeof EMAIL_UNVERIFIED> {
    const held = this.current.held;
    let answer = held.get(orgId);
    if (!answer) held.set(orgId, (answer = this.readHeldPermissions(orgId)));
    return answer;
  }

  private async readHeldPermissions(orgId: string): Promise<ReadonlySet<string> | typeof EMAIL_UNVERIFIED> {
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
    // The org came with the membership; most orgs do not require it, so no account read.
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

/**
 * What a user holds in an org, in one read shared by every rule of the request. The org row it
 * brings is handed to orgById, so the org's own fields and later checks read it again for free.
 */
export async function memberAccess(loaders: Loaders, userId: string, orgId: string): Promise<MemberAccess> {
  const access = await loaders.memberAccess.load(memberAccessKey(userId, orgId));
  if (access.org) loaders.orgById.prime(orgId, access.org);
  return access;
}

export async function activeMembership(
  loaders: Loaders,
  userId: string,
  orgId: string,
): Promise<MembershipEntity | null> {
  const { membership } = await memberAccess(loaders, userId, orgId);
  return membership?.status === MembershipStatus.ACTIVE ? membership : null;
}

/**
 * What a member may do in an org: the union of their own role's permissions and those of the
 * roles of their groups there, so they hold at least the higher of the two (permissions.md) —
 * and nothing without an active membership.
 */
export async function memberPermissions(loaders: Loaders, userId: string, orgId: string): Promise<ReadonlySet<string>> {
  const { membership, permissions } = await memberAccess(loaders, userId, orgId);
  return membership?.status === MembershipStatus.ACTIVE ? permissions : NONE;
}

/**
 * The permissions a membership carries, own role and group roles, whatever its status: rank rules
 * judge a target by this, so a deactivated owner stays out of an admin's reach. One batched read
 * whichever the number of users asked about.
 */
export async function effectivePermissions(
  loaders: Loaders,
  userId: string,
  orgId: string,
): Promise<ReadonlySet<string>> {
  return (await memberAccess(loaders, userId, orgId)).permissions;
}

/** The rank a member is protected by in rank rules (`targetRankOf` of `effectivePermissions`). */
export async function effectiveRank(loaders: Loaders, userId: string, orgId: string): Promise<number> {
  return targetRankOf([...(await effectivePermissions(loaders, userId, orgId))]);
}
