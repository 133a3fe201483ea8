import { rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { effectiveRank } from '../../core/permissions/caller-access';
import { OWNER_RANK } from '../roles/role-rank';

/**
 * Locks act on the whole account, so (permissions.md) they are for a super user, or for a caller
 * holding members:lock — and outranking the target — in every org the target belongs to.
 * Nobody locks themselves; a user outside the caller's orgs answers NOT_FOUND.
 */
const canLockAccount = rule({ cache: 'no_cache' })(async (_parent, args: { userId: string }, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (args.userId === ctx.principal.userId) return new AppError('member.self_lifecycle');
  const target = isId(args.userId) ? await ctx.loaders.userById.load(args.userId) : null;
  if (!target) return new AppError('user.not_found');
  if (ctx.principal.superUser) return true;
  const memberships = await ctx.loaders.membershipsByUserId.load(args.userId);
  const shared = await Promise.all(memberships.map((membership) => ctx.access.membership(membership.orgId)));
  if (!shared.some(Boolean)) return new AppError('user.not_found');
  for (const membership of memberships) {
    if (!(await ctx.access.can(membership.orgId, 'members:lock'))) return new AppError('auth.forbidden');
    const callerRank = await ctx.access.rank(membership.orgId);
    const targetRank = await effectiveRank(ctx.loaders, args.userId, membership.orgId);
    if (callerRank < OWNER_RANK && targetRank >= callerRank) return new AppError('member.outranked');
  }
  return true;
});

export const lockingRules = {
  Mutation: { lock: canLockAccount, unlock: canLockAccount },
};
