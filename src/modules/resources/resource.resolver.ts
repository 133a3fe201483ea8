import { IdArgs } from '../../core/graphql/id-args';
import { Arg, Args, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { loadAll } from '../../core/db/load-by-ids';
import { PageArgs } from '../../core/graphql/connection';
import { connectionFrom } from '../../core/graphql/connection-type';
import { GroupType } from '../groups/group.type';
import { OrgType } from '../orgs/org.type';
import { PrincipalKind } from '../users/user.entity';
import { UserType } from '../users/user.type';
import { decideAccess } from './access-decision';
import { checkedPrincipalId, resolveCheckedResource, subjectOf } from './checked-resource';
import {
  CheckAccessArgs,
  CreateResourceInput,
  GrantAccessArgs,
  GrantIdArgs,
  RevokeAllArgs,
  UpdateResourceArgs,
} from './resource.inputs';
import { groupGrants, orgResources, resourceGrants } from './resources.lists';
import {
  AccessDecisionType,
  AccessGrantConnection,
  AccessGrantType,
  AccessPrincipalUnion,
  ResourceAccessCountsType,
  ResourceConnection,
  ResourceType,
} from './resource.type';

@Resolver(() => ResourceType)
export class ResourceResolver {
  @Mutation(() => ResourceType)
  async createResource(
    @Arg('input', () => CreateResourceInput) input: CreateResourceInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { orgId, ...fields } = input;
    return ctx.db.transaction((tx) => ctx.services.resources.create(tx, auditActorOf(ctx), orgId, fields));
  }

  @Mutation(() => ResourceType)
  async updateResource(@Args() { id, input }: UpdateResourceArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.resources.update(tx, auditActorOf(ctx), id, input));
  }

  @Mutation(() => Boolean)
  async deleteResource(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.resources.delete(tx, auditActorOf(ctx), id));
  }

  @Mutation(() => AccessGrantType, {
    description: 'Grants a user, service account, customer or group access; re-granting changes the level.',
  })
  async grantAccess(@Args() { resourceId, principalId, level }: GrantAccessArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) =>
      ctx.services.resources.grant(tx, auditActorOf(ctx), resourceId, principalId, level),
    );
  }

  @Mutation(() => Boolean)
  async revokeAccess(@Args() { grantId }: GrantIdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.resources.revoke(tx, auditActorOf(ctx), grantId));
  }

  @Mutation(() => Int, {
    description: 'Removes every grant and customerId of the resource; answers the grants removed.',
  })
  async revokeAllAccess(@Args() { resourceId }: RevokeAllArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.resources.revokeAll(tx, auditActorOf(ctx), resourceId));
  }

  @Query(() => AccessDecisionType, {
    description: 'May a principal (default: the caller) use a resource at a level, and why.',
  })
  async checkAccess(@Args() args: CheckAccessArgs, @Ctx() ctx: GraphQLContext) {
    const { orgId, resource } = await resolveCheckedResource(ctx, args);
    if (!resource || !orgId) return { allowed: false, reason: 'no such resource in this org' };
    const principalId = checkedPrincipalId(ctx, args.principalId);
    const subject = principalId === ctx.principal!.userId ? subjectOf(ctx) : { userId: principalId };
    return decideAccess(ctx.loaders, subject, resource, args.level);
  }

  @FieldResolver(() => OrgType)
  org(@Root() resource: ResourceType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(resource.orgId);
  }

  @FieldResolver(() => AccessGrantConnection, { description: 'Oldest first.' })
  async grants(@Root() resource: ResourceType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const grants = await ctx.loaders.pages.load(resourceGrants, resource.id, page);
    return connectionFrom(AccessGrantConnection, grants, ctx.loaders.grantById);
  }

  @FieldResolver(() => [UserType], { description: 'CUSTOMER members whose customerId is listed.' })
  async customers(@Root() resource: ResourceType, @Ctx() ctx: GraphQLContext) {
    return loadAll(ctx.loaders.userById, await ctx.loaders.customerIdsByResourceId.load(resource.id));
  }

  @FieldResolver(() => ResourceAccessCountsType)
  async accessCounts(@Root() resource: ResourceType, @Ctx() ctx: GraphQLContext): Promise<ResourceAccessCountsType> {
    const grants = await ctx.loaders.grantsByResourceId.load(resource.id);
    const users = await Promise.all(grants.filter((g) => g.userId).map((g) => ctx.loaders.userById.load(g.userId!)));
    const matched = await loadAll(ctx.loaders.userById, await ctx.loaders.customerIdsByResourceId.load(resource.id));
    const granted = (kind: PrincipalKind) => users.filter((user) => user?.kind === kind);
    const customerIds = new Set([...granted(PrincipalKind.CUSTOMER), ...matched].map((user) => user!.id));
    return {
      users: granted(PrincipalKind.HUMAN).length + granted(PrincipalKind.CUSTOMER).length,
      serviceAccounts: granted(PrincipalKind.SERVICE_ACCOUNT).length,
      customers: customerIds.size,
      groups: grants.filter((g) => g.groupId).length,
    };
  }
}

@Resolver(() => AccessGrantType)
export class AccessGrantResolver {
  @FieldResolver(() => ResourceType)
  resource(@Root() grant: AccessGrantType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.resourceById.load(grant.resourceId);
  }

  @FieldResolver(() => AccessPrincipalUnion, { description: 'The user, service account, customer or group granted.' })
  principal(@Root() grant: AccessGrantType, @Ctx() ctx: GraphQLContext) {
    return grant.userId ? ctx.loaders.userById.load(grant.userId) : ctx.loaders.groupById.load(grant.groupId!);
  }

  @FieldResolver(() => UserType, { nullable: true, description: 'The principal when it is a user; null for a group.' })
  user(@Root() grant: AccessGrantType, @Ctx() ctx: GraphQLContext) {
    return grant.userId ? ctx.loaders.userById.load(grant.userId) : null;
  }

  @FieldResolver(() => GroupType, { nullable: true, description: 'The principal when it is a group.' })
  group(@Root() grant: AccessGrantType, @Ctx() ctx: GraphQLContext) {
    return grant.groupId ? ctx.loaders.groupById.load(grant.groupId) : null;
  }
}

@Resolver(() => GroupType)
export class GroupGrantsResolver {
  @FieldResolver(() => AccessGrantConnection, {
    description: "The group's access grants on the org's resources, oldest first.",
  })
  async grants(@Root() group: GroupType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    return connectionFrom(
      AccessGrantConnection,
      await ctx.loaders.pages.load(groupGrants, group.id, page),
      ctx.loaders.grantById,
    );
  }
}

@Resolver(() => OrgType)
export class OrgResourcesResolver {
  @FieldResolver(() => ResourceConnection, {
    description: 'By name: all resources with resources:read; otherwise those the caller may use.',
  })
  async resources(@Root() org: OrgType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const parent = { orgId: org.id, readsAll: await ctx.access.can(org.id, 'resources:read') };
    const resources = await ctx.loaders.pages.load(orgResources(ctx.principal!.userId), parent, page);
    return connectionFrom(ResourceConnection, resources, ctx.loaders.resourceById);
  }
}
