import { Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { MembershipType } from '../members/membership.type';
import { OrgType } from '../orgs/org.type';
import { UserType } from './user.type';

@Resolver(() => UserType)
export class UserResolver {
  @Query(() => UserType, { description: 'The signed-in caller.' })
  async me(@Ctx() ctx: GraphQLContext) {
    const user = ctx.principal && (await ctx.loaders.userById.load(ctx.principal.userId));
    if (!user) throw new AppError('auth.unauthenticated');
    return user;
  }

  @FieldResolver(() => String)
  fullName(@Root() user: UserType): string {
    return [user.firstName, user.lastName].filter(Boolean).join(' ');
  }

  @FieldResolver(() => Boolean, { description: 'Whether the account is locked and cannot sign in.' })
  locked(@Root() user: UserType): boolean {
    return user.lockedAt !== null;
  }

  @FieldResolver(() => OrgType, { nullable: true })
  async defaultOrg(@Root() user: UserType, @Ctx() ctx: GraphQLContext) {
    return user.defaultOrgId ? ctx.loaders.orgById.load(user.defaultOrgId) : null;
  }

  @FieldResolver(() => [MembershipType])
  async memberships(@Root() user: UserType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.membershipsByUserId.load(user.id);
  }
}
