import { Args, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { auditActorOf, readList, type GraphQLContext } from '../../core/context/context';
import { OrgType } from '../orgs/org.type';
import { UserType } from '../users/user.type';
import { listedWithOf, listMembers } from './member-list';
import { MembershipConnectionType, UserConnectionType, UserEdgeType } from './member-connection.type';
import { ChangeRoleArgs, MemberArgs, MembersArgs, UsersArgs } from './members.inputs';
import { MembershipStatus } from './membership.entity';
import { MembershipType } from './membership.type';

@Resolver(() => UserConnectionType)
export class MembersResolver {
  @Query(() => UserConnectionType, { description: "An org's members, filtered, ordered and paged." })
  async users(@Args() { orgId, ...page }: UsersArgs, @Ctx() ctx: GraphQLContext) {
    // Possibly a replica's rows (ListReads): members:read is checked on the primary by the rule,
    // and each user's fields by their own rules, also on the primary.
    return UserConnectionType.from(await readList(ctx, (reads) => listMembers(reads, orgId, page)));
  }

  @FieldResolver(() => Int)
  totalCount(@Root() connection: UserConnectionType) {
    return connection.page.totalCount();
  }

  @Mutation(() => MembershipType, { description: 'Gives a member another role in the org.' })
  async changeRole(@Args() { orgId, userId, roleId }: ChangeRoleArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) =>
      ctx.services.members.changeRole(tx, auditActorOf(ctx), { orgId, userId }, roleId),
    );
  }

  @Mutation(() => MembershipType, { description: "Restores a deactivated member's access to the org." })
  async activate(@Args() { orgId, userId }: MemberArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) =>
      ctx.services.members.setStatus(tx, auditActorOf(ctx), { orgId, userId }, MembershipStatus.ACTIVE),
    );
  }

  @Mutation(() => MembershipType, { description: "Suspends a member's access to the org; the account is untouched." })
  async deactivate(@Args() { orgId, userId }: MemberArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) =>
      ctx.services.members.setStatus(tx, auditActorOf(ctx), { orgId, userId }, MembershipStatus.DEACTIVATED),
    );
  }

  @Mutation(() => Boolean, { description: 'Removes a member from the org; the account remains.' })
  async removeMember(@Args() { orgId, userId }: MemberArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.members.removeMember(tx, auditActorOf(ctx), { orgId, userId }));
  }
}

/** Typed by an alias so type-graphql hands the edge over as it is instead of copying it per row. */
type UserEdgeRow = Pick<UserEdgeType, 'membership'>;

@Resolver(() => UserEdgeType)
export class UserEdgeResolver {
  /** The page's row brings its user (from the page's data source), as `Membership.user`. */
  @FieldResolver(() => UserType)
  node(@Root() edge: UserEdgeRow, @Ctx() ctx: GraphQLContext) {
    return listedWithOf(edge.membership)?.user ?? ctx.loaders.userById.load(edge.membership.userId);
  }
}

@Resolver(() => MembershipConnectionType)
export class MembershipConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() connection: MembershipConnectionType) {
    return connection.page.totalCount();
  }
}

@Resolver(() => OrgType)
export class OrgMembersResolver {
  @FieldResolver(() => MembershipConnectionType, { description: 'The same listing as `users`, as memberships.' })
  async members(@Root() org: OrgType, @Args() args: MembersArgs, @Ctx() ctx: GraphQLContext) {
    // Possibly a replica's rows, as `users`.
    return MembershipConnectionType.from(await readList(ctx, (reads) => listMembers(reads, org.id, args)));
  }
}
