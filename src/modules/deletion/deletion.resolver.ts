import { Args, Ctx, Mutation, Resolver } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { DeleteAccountArgs, DeleteOrgArgs } from './deletion.inputs';
import { deleteOrg } from './org-deletion.service';

@Resolver()
export class DeletionResolver {
  @Mutation(() => Boolean, {
    description:
      'Deletes an org and everything in it; its members keep their accounts. Its audit records stay, sealed, for super users.',
  })
  async deleteOrg(@Args() args: DeleteOrgArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => deleteOrg(tx, ctx.services.signingKeys, auditActorOf(ctx), args));
  }

  @Mutation(() => Boolean, {
    description:
      'Deletes your own account (with your password), or as a super user another one (userId). Personal data in audit records about it is erased.',
  })
  async deleteAccount(@Args() { password, userId }: DeleteAccountArgs, @Ctx() ctx: GraphQLContext) {
    const principal = ctx.principal;
    if (!principal) throw new AppError('auth.unauthenticated');
    const self = !userId || userId.toLowerCase() === principal.userId;
    if (self) {
      if (!password) throw new AppError('user.password_required', { field: 'password' });
      // The limits of changePassword: both guess the holder's password.
      await ctx.services.rateLimits.consume(
        ['changePasswordPerIp', ctx.ipAddress],
        ['changePasswordPerAccount', principal.userId],
      );
    }
    const request = { userId: self ? principal.userId : userId, password: password ?? null, self };
    return ctx.db.transaction((tx) => ctx.services.accountDeletion.deleteAccount(tx, auditActorOf(ctx), request));
  }
}
