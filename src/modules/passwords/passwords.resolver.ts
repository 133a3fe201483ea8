import { Args, Ctx, Mutation, Resolver } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { emailLimitKey } from '../../core/rate-limit/email';
import { ChangePasswordArgs, RequestPasswordResetArgs, ResetPasswordArgs, SetPasswordArgs } from './passwords.inputs';

@Resolver()
export class PasswordsResolver {
  @Mutation(() => Boolean, { description: "Changes the caller's password and ends their other sessions." })
  async changePassword(@Args() args: ChangePasswordArgs, @Ctx() ctx: GraphQLContext) {
    const principal = ctx.principal;
    if (!principal) throw new AppError('auth.unauthenticated');
    await ctx.services.rateLimits.consume(
      ['changePasswordPerIp', ctx.ipAddress],
      ['changePasswordPerAccount', principal.userId],
    );
    return ctx.db.transaction((tx) => ctx.services.passwords.changePassword(tx, principal, args, auditActorOf(ctx)));
  }

  @Mutation(() => Boolean, {
    description: 'Emails a single-use reset link, valid one hour, if the address has an account. Always true.',
  })
  async requestPasswordReset(@Args() { email }: RequestPasswordResetArgs, @Ctx() ctx: GraphQLContext) {
    // Counted whether or not the address has an account, so a refusal tells nothing.
    await ctx.services.rateLimits.consume(
      ['resetRequestPerIp', ctx.ipAddress],
      ['resetRequestPerEmail', await emailLimitKey(ctx.db, email)],
    );
    const delivery = await ctx.db.transaction((tx) =>
      ctx.services.passwords.requestReset(tx, email, auditActorOf(ctx)),
    );
    // Only after the commit, so no link goes out for a token that was rolled back.
    if (delivery) ctx.services.passwords.sendInBackground(delivery);
    return true;
  }

  @Mutation(() => Boolean, { description: "Sets a new password with a reset link's token and ends every session." })
  async resetPassword(@Args() args: ResetPasswordArgs, @Ctx() ctx: GraphQLContext) {
    await ctx.services.rateLimits.consume(['resetPasswordPerIp', ctx.ipAddress], ['resetPasswordPerToken', args.token]);
    return ctx.db.transaction((tx) => ctx.services.passwords.resetPassword(tx, args, auditActorOf(ctx)));
  }

  @Mutation(() => Boolean, { description: "Sets another user's password and ends their sessions." })
  async setPassword(@Args() { userId, password }: SetPasswordArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.passwords.setPassword(tx, userId, password, auditActorOf(ctx)));
  }
}
