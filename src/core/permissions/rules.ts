import { rule } from 'graphql-shield';
import type { GraphQLContext } from '../context/context';
import { AppError } from '../errors/app-error';

/**
 * Rules that depend only on the caller may share a decision within one operation ('contextual');
 * rules that look at the parent object or arguments must not ('no_cache'), or one decision would
 * be reused for a different object.
 */
export const isAuthenticated = rule({ cache: 'contextual' })(
  (_parent, _args, ctx: GraphQLContext) => ctx.principal !== null || (ctx.authError ?? new AppError('auth.unauthenticated')),
);

export const isSuperUser = rule({ cache: 'contextual' })((_parent, _args, ctx: GraphQLContext) => ctx.principal?.superUser === true);

/** The parent object is the caller's own user record. */
export const isSelf = rule({ cache: 'no_cache' })(
  (parent: { id?: string }, _args, ctx: GraphQLContext) => ctx.principal !== null && parent.id === ctx.principal.userId,
);

/** The parent object belongs to the caller (sessions, memberships). */
export const isOwnedBySelf = rule({ cache: 'no_cache' })(
  (parent: { userId?: string }, _args, ctx: GraphQLContext) => ctx.principal !== null && parent.userId === ctx.principal.userId,
);

/** The parent object lives in an org where the caller has an active membership. */
export const isInCallersOrg = rule({ cache: 'no_cache' })(async (parent: { orgId?: string; id?: string }, _args, ctx: GraphQLContext) => {
  if (!ctx.principal) return false;
  if (ctx.principal.superUser) return true;
  const orgId = parent.orgId ?? parent.id;
  const memberships = await ctx.loaders.membershipsByUserId.load(ctx.principal.userId);
  return memberships.some((membership) => membership.orgId === orgId && membership.status === 'ACTIVE');
});
