import { isId } from '../../core/ids';
import { mayBeShutOut } from '../../core/permissions/verified-email';
import type { Loaders } from '../../loaders';
import { MembershipStatus } from '../members/membership.entity';
import { PrincipalKind, UserStatus } from '../users/user.entity';
import { AccessLevel, LEVEL_ORDER } from './access-grant.entity';
import type { ResourceEntity } from './resource.entity';

export type AccessDecision = { allowed: boolean; reason: string };

const allow = (reason: string): AccessDecision => ({ allowed: true, reason });
const deny = (reason: string): AccessDecision => ({ allowed: false, reason });
const covers = (granted: AccessLevel, wanted: AccessLevel) => LEVEL_ORDER[granted] >= LEVEL_ORDER[wanted];

export type Subject = {
  userId: string;
  /** Super users reach every resource; nobody else uses one without a grant. */
  superUser?: boolean;
};

/**
 * May this principal use this resource at this level, and by which path? Paths, in order: a
 * direct grant, a grant to one of its groups, a customerId listed on the resource (READ, for
 * CUSTOMER principals), super-user power. An org role never gives use: it governs the catalogue
 * (resources:read sees it, resources:write edits it, access:grant manages grants), so an admin
 * decides per resource who may use it and revoking every grant leaves nobody but super users. Every read goes through the request's
 * loaders, so a batch of checks costs a constant number of SQL statements.
 *
 * An account with no membership in the resource's org (of any status) is none of the org's
 * business: it answers exactly as an id that names nothing, before any account-level reason, and
 * after the same reads, so a member cannot probe other orgs' accounts (whether an id exists, is
 * locked, or belongs elsewhere). Only the caller's own super-user power reaches past that.
 */
export async function decideAccess(
  loaders: Loaders,
  subject: Subject,
  resource: ResourceEntity,
  level: AccessLevel,
): Promise<AccessDecision> {
  const [user, memberships] = await Promise.all([
    loaders.userById.load(subject.userId),
    isId(subject.userId) ? loaders.membershipsByUserId.load(subject.userId) : [],
  ]);
  const membership = memberships.find((candidate) => candidate.orgId === resource.orgId);
  if (!user || (!membership && !subject.superUser)) return deny('unknown principal');
  if (user.status !== UserStatus.ACTIVE || user.lockedAt) return deny('the account is locked or inactive');
  if (membership?.status !== MembershipStatus.ACTIVE) {
    return subject.superUser ? allow('super user') : deny('not an active member of the org');
  }
  if (mayBeShutOut(user) && (await loaders.orgById.load(resource.orgId))?.requireVerifiedEmail) {
    return deny('the org requires a verified email address');
  }

  const grants = await loaders.grantsByResourceId.load(resource.id);
  const direct = grants.find((grant) => grant.userId === user.id && covers(grant.level, level));
  if (direct) return allow(`direct grant (${direct.level})`);
  const groupIds = new Set((await loaders.groupLinksByUserId.load(user.id)).map((link) => link.groupId));
  const viaGroup = grants.find(
    (grant) => grant.groupId !== null && groupIds.has(grant.groupId) && covers(grant.level, level),
  );
  if (viaGroup) return allow(`group grant (${viaGroup.level}) via group ${viaGroup.groupId}`);

  if (user.kind === PrincipalKind.CUSTOMER) {
    const matches = user.customerId !== null && resource.customerIds.includes(user.customerId);
    if (matches && level === AccessLevel.READ) return allow(`customerId match (${user.customerId})`);
  }
  if (subject.superUser) return allow('super user');
  return deny(
    user.kind === PrincipalKind.CUSTOMER
      ? `no grant, group grant or customerId match gives ${level}`
      : `no grant or group grant gives ${level}`,
  );
}
