import { IdArgs } from '../../core/graphql/id-args';
import { Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { PageArgs } from '../../core/graphql/connection';
import { connectionFrom } from '../../core/graphql/connection-type';
import { OrgType } from '../orgs/org.type';
import { actAs, signIn } from './sign-in';
import { activeSessions } from './auth.lists';
import { AuthPayloadType, SessionConnection, SessionType } from './auth.type';
import { LoginArgs, RefreshTokenArgs } from './auth.inputs';

@Resolver(() => SessionType)
export class AuthResolver {
  @Mutation(() => AuthPayloadType, {
    description:
      'Signs in with email and password. With REFRESH_TOKEN_TRANSPORT=cookie or both, the refresh token is set as the portcullis_refresh cookie for POST /auth/refresh.',
  })
  async login(@Args() args: LoginArgs, @Ctx() ctx: GraphQLContext) {
    return signIn(ctx, await ctx.services.auth.login(args, auditActorOf(ctx)));
  }

  @Mutation(() => AuthPayloadType, {
    description:
      'Spends a refresh token and returns new credentials, the successor always in the answer (never a cookie).',
  })
  async refreshSession(@Args() { refreshToken }: RefreshTokenArgs, @Ctx() ctx: GraphQLContext) {
    return actAs(ctx, await ctx.services.auth.refresh(refreshToken, auditActorOf(ctx)));
  }

  @Mutation(() => Boolean, { description: 'Ends the session of a refresh token; false if it had ended.' })
  async logout(@Args() { refreshToken }: RefreshTokenArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.services.auth.logout(refreshToken, auditActorOf(ctx));
  }

  @Mutation(() => Boolean, { description: "Ends one of the caller's sessions; false if it had ended." })
  async revokeSession(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    const principal = ctx.principal;
    if (!principal) throw new AppError('auth.unauthenticated');
    return ctx.db.transaction((tx) => ctx.services.auth.revokeSession(tx, principal, id, auditActorOf(ctx)));
  }

  @Query(() => SessionConnection, { description: "The caller's active sessions, newest first." })
  async sessions(@Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    if (!ctx.principal) throw new AppError('auth.unauthenticated');
    const sessions = await ctx.loaders.pages.load(activeSessions, ctx.principal.userId, page);
    return connectionFrom(SessionConnection, sessions, ctx.loaders.sessionById);
  }

  @FieldResolver(() => Boolean, { description: 'Whether this is the session of the current request.' })
  current(@Root() session: SessionType, @Ctx() ctx: GraphQLContext): boolean {
    return session.id === ctx.principal?.sessionId;
  }

  @FieldResolver(() => OrgType, { nullable: true })
  async org(@Root() session: SessionType, @Ctx() ctx: GraphQLContext) {
    return session.orgId ? ctx.loaders.orgById.load(session.orgId) : null;
  }
}
