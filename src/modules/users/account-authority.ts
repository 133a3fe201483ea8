import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { effectiveRank } from '../../core/permissions/caller-access';
import { OWNER_RANK } from '../roles/role-rank';

/**
 * The one rule for acts on another person's whole account (password, lock, profile, anything that
 * touches credentials), docs/security.md "Authority over accounts". An account spans every org it
 * belongs to, so authority in one org is not enough: the caller is a super user, or holds
 * `permission` and a higher effective rank (group roles included; an owner outranks everyone but
 * super users) in each org where the target has a membership of any status. Nobody but a super
 * user acts on a super user or on an account with no membership at all.
 *
 * Acting on oneself is each operation's own decision: callers handle `self` before asking.
 * An account the caller cannot see answers NOT_FOUND, like one that does not exist.
 */
export async function authorityOverAccount(
  ctx: GraphQLContext,
  targetUserId: unknown,
  permission: string,
): Promise<true | AppError> {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const target = isId(targetUserId) ? await ctx.loaders.userById.load(targetUserId) : null;
  if (!target) return new AppError('user.not_found');
  if (ctx.principal.superUser) return true;

  const memberships = await ctx.loaders.membershipsByUserId.load(target.id);
  const seen = await Promise.all(memberships.map((membership) => ctx.access.membership(membership.orgId)));
  if (!seen.some(Boolean)) return new AppError('user.not_found');
  if (target.superUser) return new AppError('account.super_user');

  const orgIds = memberships.map((membership) => membership.orgId);
  if ((await ctx.access.orgsWhere(permission, orgIds)).length < orgIds.length) {
    return new AppError('account.outside_authority');
  }
  for (const orgId of orgIds) {
    const callerRank = await ctx.access.rank(orgId);
    if (callerRank >= OWNER_RANK) continue;
    if ((await effectiveRank(ctx.loaders, target.id, orgId)) >= callerRank) return new AppError('member.outranked');
  }
  return true;
}
