import { IdArgs } from '../../core/graphql/id-args';
import { Arg, Args, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { auditActorOf, readList, type GraphQLContext } from '../../core/context/context';
import { PageArgs } from '../../core/graphql/connection';
import { connectionFrom } from '../../core/graphql/connection-type';
import { OrgType } from '../orgs/org.type';
import { RoleType } from '../roles/role.type';
import { UserType } from '../users/user.type';
import type { GroupEntity } from './group.entity';
import { CreateGroupInput, GroupMembersArgs, UpdateGroupArgs, UserGroupsArgs } from './group.inputs';
import { GroupConnection, GroupMemberConnection, GroupType } from './group.type';
import { groupMembers, orgGroups } from './groups.lists';

const byName = (a: GroupEntity, b: GroupEntity) => a.name.localeCompare(b.name);

/**
 * The rows of ids that exist. Loaded one by one (DataLoader still batches them), not by loadMany:
 * that puts a failed read's Error in the list, and skipping it would answer a database outage with
 * a shorter list.
 */
async function found<T>(loader: { load(id: string): Promise<T | null> }, ids: readonly string[]): Promise<T[]> {
  const rows: Array<T | null> = await Promise.all(ids.map((id) => loader.load(id)));
  return rows.filter((row): row is T => row !== null);
}

@Resolver(() => GroupType)
export class GroupResolver {
  @Mutation(() => GroupType, { description: 'Creates a group in an org, optionally with a role its members inherit.' })
  async createGroup(@Arg('input', () => CreateGroupInput) input: CreateGroupInput, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.groups.createGroup(tx, auditActorOf(ctx), input));
  }

  @Mutation(() => GroupType, { description: 'Renames a group, or replaces or removes its role.' })
  async updateGroup(@Args() { id, input }: UpdateGroupArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.groups.updateGroup(tx, auditActorOf(ctx), id, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a group; its members keep their own roles.' })
  async deleteGroup(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.groups.deleteGroup(tx, auditActorOf(ctx), id));
  }

  @Mutation(() => GroupType, { description: "Adds members of the group's org; all of them, or none." })
  async addGroupMembers(@Args() { groupId, principalIds }: GroupMembersArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.groups.addMembers(tx, auditActorOf(ctx), groupId, principalIds));
  }

  @Mutation(() => GroupType, { description: 'Removes members; ids not in the group are ignored.' })
  async removeGroupMembers(@Args() { groupId, principalIds }: GroupMembersArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.groups.removeMembers(tx, auditActorOf(ctx), groupId, principalIds));
  }

  @FieldResolver(() => OrgType)
  org(@Root() group: GroupType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(group.orgId);
  }

  @FieldResolver(() => RoleType, { nullable: true, description: 'The role every member inherits, if any.' })
  role(@Root() group: GroupType, @Ctx() ctx: GraphQLContext) {
    return group.roleId ? ctx.loaders.roleById.load(group.roleId) : null;
  }

  @FieldResolver(() => GroupMemberConnection, { description: 'Users, service accounts and customers, by email.' })
  async members(@Root() group: GroupType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    // The ids possibly from a replica (ListReads): the field's rule decides on the primary who may
    // list the group, and each member is read, and shown under its own rules, on the primary.
    const members = await readList(ctx, (reads) => reads.loaders.pages.load(groupMembers, group.id, page));
    return connectionFrom(GroupMemberConnection, members, ctx.loaders.userById);
  }
}

@Resolver(() => OrgType)
export class OrgGroupsResolver {
  @FieldResolver(() => GroupConnection, { description: "The org's groups, by name." })
  async groups(@Root() org: OrgType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    // The ids possibly from a replica, as Group.members; each group is read on the primary.
    return connectionFrom(
      GroupConnection,
      await readList(ctx, (reads) => reads.loaders.pages.load(orgGroups, org.id, page)),
      ctx.loaders.groupById,
    );
  }
}

@Resolver(() => UserType)
export class UserGroupsResolver {
  @FieldResolver(() => [GroupType], { description: "The user's groups in one org, by name." })
  async groups(@Root() user: UserType, @Args() { orgId }: UserGroupsArgs, @Ctx() ctx: GraphQLContext) {
    const links = await ctx.loaders.groupLinksByUserId.load(user.id);
    const ids = links.filter((link) => link.orgId === orgId).map((link) => link.groupId);
    return (await found<GroupEntity>(ctx.loaders.groupById, ids)).sort(byName);
  }
}
