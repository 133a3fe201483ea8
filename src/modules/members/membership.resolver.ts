import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../core/context/context';
import { OrgType } from '../orgs/org.type';
import { RoleType } from '../roles/role.type';
import { UserType } from '../users/user.type';
import { MembershipType } from './membership.type';

@Resolver(() => MembershipType)
export class MembershipResolver {
  @FieldResolver(() => UserType)
  async user(@Root() membership: MembershipType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.userById.load(membership.userId);
  }

  @FieldResolver(() => OrgType)
  async org(@Root() membership: MembershipType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(membership.orgId);
  }

  @FieldResolver(() => RoleType)
  async role(@Root() membership: MembershipType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.roleById.load(membership.roleId);
  }

  @FieldResolver(() => UserType, { nullable: true })
  async invitedBy(@Root() membership: MembershipType, @Ctx() ctx: GraphQLContext) {
    return membership.invitedById ? ctx.loaders.userById.load(membership.invitedById) : null;
  }
}
