import { allow, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { authorityOverAccount } from '../users/account-authority';
import { isSignedInPerson } from '../../core/permissions/rules';

/** Another user's password needs authority over the whole account; one's own goes through changePassword. */
const canSetPassword = rule({ cache: 'no_cache' })(async (_parent, args: { userId: string }, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (args.userId === ctx.principal.userId) return new AppError('password.set_own');
  return authorityOverAccount(ctx, args.userId, 'members:password');
});

export const passwordRules = {
  Mutation: {
    changePassword: isSignedInPerson,
    // The email or the token is the credential; requestPasswordReset reveals nothing either way.
    requestPasswordReset: allow,
    resetPassword: allow,
    setPassword: canSetPassword,
  },
};
