import { rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { authorityOverAccount } from '../users/account-authority';

/** Locks act on the whole account: authority over it in every org it belongs to. Nobody locks themselves. */
const canLockAccount = rule({ cache: 'no_cache' })(async (_parent, args: { userId: string }, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (args.userId === ctx.principal.userId) return new AppError('member.self_lifecycle');
  return authorityOverAccount(ctx, args.userId, 'members:lock');
});

export const lockingRules = {
  Mutation: { lock: canLockAccount, unlock: canLockAccount },
};
