import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../core/context/context';
import { OrgType } from '../orgs/org.type';
import { RoleType } from '../roles/role.type';
import { UserType } from '../users/user.type';
import { listedWithOf } from './member-list';
import { MembershipType } from './membership.type';

/**
 * The root as it comes (an entity, or a member page's row): typed by an alias, so type-graphql does
 * not copy it into a new MembershipType for every field of every row.
 */
type MembershipRow = Pick<MembershipType, 'userId' | 'orgId' | 'roleId' | 'invitedById'>;

@Resolver(() => MembershipType)
export class MembershipResolver {
  /** A member page's row brings its user and role: answered as they are, not one loader promise per row. */
  @FieldResolver(() => UserType)
  user(@Root() membership: MembershipRow, @Ctx() ctx: GraphQLContext) {
    return listedWithOf(membership)?.user ?? ctx.loaders.userById.load(membership.userId);
  }

  @FieldResolver(() => OrgType)
  async org(@Root() membership: MembershipRow, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(membership.orgId);
  }

  @FieldResolver(() => RoleType)
  role(@Root() membership: MembershipRow, @Ctx() ctx: GraphQLContext) {
    return listedWithOf(membership)?.role ?? ctx.loaders.roleById.load(membership.roleId);
  }

  @FieldResolver(() => UserType, { nullable: true })
  async invitedBy(@Root() membership: MembershipRow, @Ctx() ctx: GraphQLContext) {
    return membership.invitedById ? ctx.loaders.userById.load(membership.invitedById) : null;
  }
}
