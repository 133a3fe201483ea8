import { IdArgs } from '../../core/graphql/id-args';
import { Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { MembershipType } from '../members/membership.type';
import { OrgType } from '../orgs/org.type';
import { UpdateUserArgs, UserByEmailArgs } from './user.inputs';
import { UserType } from './user.type';
import { visibleOrgsOf } from './user-visibility';

@Resolver(() => UserType)
export class UserResolver {
  @Query(() => UserType, { description: 'The signed-in caller.' })
  async me(@Ctx() ctx: GraphQLContext) {
    const user = ctx.principal && (await ctx.loaders.userById.load(ctx.principal.userId));
    if (!user) throw new AppError('auth.unauthenticated');
    return user;
  }

  @Query(() => UserType, { nullable: true, description: 'A user who shares an org with the caller.' })
  async user(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.userById.load(id);
  }

  @Query(() => UserType, {
    nullable: true,
    description: 'Self: the full profile. Others: what the caller may see of members of a shared org.',
  })
  async userByEmail(@Args() { email, orgId }: UserByEmailArgs, @Ctx() ctx: GraphQLContext) {
    const user = await ctx.services.users.findByEmail(ctx.db, email, orgId);
    const visible = user && (await visibleOrgsOf(ctx, user.id));
    // Invisible and nonexistent users answer alike: no enumeration through email look-ups.
    if (!user || !visible || (visible !== 'all' && visible.size === 0)) throw new AppError('user.not_found');
    return user;
  }

  @Mutation(() => UserType, { description: "Updates a user's names; only the user sets their default org." })
  async updateUser(@Args() { id, input }: UpdateUserArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.users.updateProfile(tx, auditActorOf(ctx), id, input));
  }

  @FieldResolver(() => String)
  fullName(@Root() user: UserType): string {
    return [user.firstName, user.lastName].filter(Boolean).join(' ');
  }

  @FieldResolver(() => Boolean, { nullable: true, description: 'Whether the account is locked and cannot sign in.' })
  locked(@Root() user: UserType): boolean {
    return user.lockedAt !== null;
  }

  @FieldResolver(() => OrgType, { nullable: true })
  async defaultOrg(@Root() user: UserType, @Ctx() ctx: GraphQLContext) {
    return user.defaultOrgId ? ctx.loaders.orgById.load(user.defaultOrgId) : null;
  }

  @FieldResolver(() => [MembershipType], { description: 'Only memberships in orgs where the caller may see members.' })
  async memberships(@Root() user: UserType, @Ctx() ctx: GraphQLContext) {
    const [memberships, visible] = await Promise.all([
      ctx.loaders.membershipsByUserId.load(user.id),
      visibleOrgsOf(ctx, user.id),
    ]);
    return visible === 'all' ? memberships : memberships.filter((membership) => visible.has(membership.orgId));
  }
}
