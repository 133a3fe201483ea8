import { chain, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { hasPermission, isSignedInPerson, orgFromArg } from '../../core/permissions/rules';

/**
 * One's own account, signed in (the password is checked by the operation); another's only as a
 * super user (never through an API key). Anyone else naming another account is refused alike,
 * whether it exists or not.
 */
const canDeleteAccount = rule({ cache: 'no_cache' })((
  _parent,
  args: { userId?: string | null },
  ctx: GraphQLContext,
) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (!args.userId || args.userId.toLowerCase() === ctx.principal.userId) return true;
  return ctx.principal.superUser || new AppError('auth.forbidden');
});

export const deletionRules = {
  Mutation: {
    // Owners hold org:delete; super users hold every permission.
    deleteOrg: hasPermission('org:delete', orgFromArg('id')),
    deleteAccount: chain(isSignedInPerson, canDeleteAccount),
  },
};
