import { Args, Ctx, Mutation, Resolver } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { isUniqueViolation } from '../../core/db/pg-errors';
import { AppError } from '../../core/errors/app-error';
import { emailLimitKey } from '../../core/rate-limit/email';
import { ChangeEmailArgs, VerifyEmailArgs } from './email-verification.inputs';

@Resolver()
export class EmailVerificationResolver {
  @Mutation(() => Boolean, {
    description:
      "Mails a single-use link verifying the caller's email address. Already verified: sends nothing. Always true.",
  })
  async requestEmailVerification(@Ctx() ctx: GraphQLContext) {
    const principal = ctx.principal;
    if (!principal) throw new AppError('auth.unauthenticated');
    const email = (await ctx.loaders.userById.load(principal.userId))?.email;
    if (!email) throw new AppError('auth.forbidden');
    // Its own address only, so the account's counter bounds the mail; a per-address counter here would
    // share its allowance with changeEmail requests naming that address, which anyone can make.
    await ctx.services.rateLimits.consume(
      ['emailVerificationPerIp', ctx.ipAddress],
      ['emailVerificationPerAccount', principal.userId],
    );
    const delivery = await ctx.db.transaction((tx) =>
      ctx.services.emailVerification.requestVerification(tx, principal.userId, auditActorOf(ctx)),
    );
    // Only after the commit, so no link goes out for a token that was rolled back.
    if (delivery) ctx.services.emailVerification.sendInBackground(delivery);
    return true;
  }

  @Mutation(() => Boolean, {
    description:
      "Mails a link to newEmail; the caller's address changes only when it is followed (verifyEmail). True whether or not newEmail is free.",
  })
  async changeEmail(@Args() { newEmail, password }: ChangeEmailArgs, @Ctx() ctx: GraphQLContext) {
    const principal = ctx.principal;
    if (!principal) throw new AppError('auth.unauthenticated');
    const service = ctx.services.emailVerification;
    await ctx.services.rateLimits.consume(
      ['changeEmailPerIp', ctx.ipAddress],
      ['changeEmailPerAccount', principal.userId],
    );
    await service.assertPassword(ctx.db, principal.userId, password);
    // Charged only once the password is right; it bounds what many accounts can mail one address.
    await ctx.services.rateLimits.consume(['verificationMailPerEmail', await emailLimitKey(ctx.db, newEmail)]);
    const delivery = await ctx.db.transaction((tx) =>
      service.requestChange(tx, principal.userId, newEmail, auditActorOf(ctx)),
    );
    service.sendInBackground(delivery);
    return true;
  }

  @Mutation(() => Boolean, {
    description:
      "Spends a verification link's token: verifies the address, or switches the account to the new one and notifies the old.",
  })
  async verifyEmail(@Args() { token }: VerifyEmailArgs, @Ctx() ctx: GraphQLContext) {
    await ctx.services.rateLimits.consume(['verifyEmailPerIp', ctx.ipAddress]);
    const service = ctx.services.emailVerification;
    try {
      const notice = await ctx.db.transaction((tx) => service.verify(tx, token, auditActorOf(ctx)));
      if (notice) service.sendInBackground(notice);
      return true;
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_lower_key')) throw new AppError('user.email_in_use');
      throw error;
    }
  }
}
