import { rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { isAuthenticated } from '../../core/permissions/rules';
import { authorityOverAccount } from './account-authority';
import { relationTo } from './user-visibility';
import type { UserType } from './user.type';

/** A user's profile is visible to themselves, super users, and holders of `permission` in a shared org. */
const canSeeUser = (permission: string) =>
  rule({ cache: 'no_cache' })(async (user: UserType, _args, ctx: GraphQLContext) => {
    if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
    const relation = await relationTo(ctx, user.id, permission);
    if (relation === 'stranger') return new AppError('user.not_found');
    return relation !== 'shares_org' || new AppError('auth.forbidden');
  });

/** `user(id)`: the same visibility, decided before the look-up so a stranger's id answers NOT_FOUND. */
const canSeeUserArg = rule({ cache: 'no_cache' })(async (_parent, args: { id: string }, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const relation = isId(args.id) ? await relationTo(ctx, args.id, 'members:read') : 'stranger';
  if (relation === 'stranger') return new AppError('user.not_found');
  return relation !== 'shares_org' || new AppError('auth.forbidden');
});

/** With an org, the caller must read its members; without, the look-up itself hides strangers. */
const canLookUpByEmail = rule({ cache: 'no_cache' })(async (
  _parent,
  args: { orgId?: string | null },
  ctx: GraphQLContext,
) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (!args.orgId) return true;
  if (!isId(args.orgId) || !(await ctx.access.canSeeOrg(args.orgId))) return new AppError('org.not_found');
  return (await ctx.access.can(args.orgId, 'members:read')) || new AppError('auth.forbidden');
});

/** Own names and default org; another's names only with authority over the whole account (members:update). */
const canUpdateUser = rule({ cache: 'no_cache' })(async (
  _parent,
  args: { id: string; input: { defaultOrgId?: string | null } },
  ctx: GraphQLContext,
) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (args.id === ctx.principal.userId) return true;
  const allowed = await authorityOverAccount(ctx, args.id, 'members:update');
  if (allowed === true && args.input.defaultOrgId != null)
    return new AppError('auth.forbidden', { field: 'defaultOrgId' });
  return allowed;
});

const profile = canSeeUser('members:read');
const accountDetails = canSeeUser('members:update');

export const userRules = {
  Query: { me: isAuthenticated, user: canSeeUserArg, userByEmail: canLookUpByEmail },
  Mutation: { updateUser: canUpdateUser },
  User: {
    '*': profile,
    locked: accountDetails,
    lockedAt: accountDetails,
    lockReason: accountDetails,
    emailVerifiedAt: accountDetails,
    superUser: accountDetails,
    defaultOrg: accountDetails,
  },
};
