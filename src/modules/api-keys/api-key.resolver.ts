import { IdArgs } from '../../core/graphql/id-args';
import { Arg, Args, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { PageArgs } from '../../core/graphql/connection';
import { connectionFrom } from '../../core/graphql/connection-type';
import { OrgType } from '../orgs/org.type';
import { UserType } from '../users/user.type';
import { visibleOrgsOf } from '../users/user-visibility';
import type { ApiKeyEntity } from './api-key.entity';
import { CreateKeyInput, CreateServiceAccountInput, RotateKeyArgs } from './api-key.inputs';
import { ApiKeyConnection, ApiKeyStatus, ApiKeyType, IssuedApiKeyType, ServiceAccountConnection } from './api-key.type';
import { orgApiKeys, orgServiceAccounts, userApiKeys } from './api-keys.lists';
import { keyIsLive } from './api-keys.service';

@Resolver(() => ApiKeyType)
export class ApiKeyResolver {
  @Mutation(() => UserType, { description: 'Creates a SERVICE_ACCOUNT principal (API keys only, no password).' })
  async createServiceAccount(
    @Arg('input', () => CreateServiceAccountInput) input: CreateServiceAccountInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.db.transaction((tx) => ctx.services.apiKeys.createServiceAccount(tx, auditActorOf(ctx), input));
  }

  @Mutation(() => IssuedApiKeyType, { description: 'Issues a JWT API key; the token is returned only here.' })
  async createKey(@Arg('input', () => CreateKeyInput) input: CreateKeyInput, @Ctx() ctx: GraphQLContext) {
    const principal = ctx.principal!;
    return ctx.db.transaction(async (tx) => {
      const requestedOrg = input.orgId ?? (input.ownerId === principal.userId ? principal.orgId : null);
      const orgId = await ctx.services.apiKeys.keyOrg(tx, input.ownerId, requestedOrg);
      if (!orgId) throw new AppError('user.not_found', { field: 'ownerId' });
      const key = {
        ownerId: input.ownerId,
        orgId,
        name: input.name,
        scopes: input.scopes,
        expiresAt: input.expiresAt ?? null,
      };
      return ctx.services.apiKeys.createKey(tx, auditActorOf(ctx), key);
    });
  }

  @Mutation(() => IssuedApiKeyType, { description: 'Replaces a key; the old one works until the grace period ends.' })
  async rotateKey(@Args() { id, gracePeriodSeconds }: RotateKeyArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.apiKeys.rotateKey(tx, auditActorOf(ctx), id, gracePeriodSeconds));
  }

  @Mutation(() => ApiKeyType, { description: 'Stops a key at once, in every gateway process.' })
  async revokeKey(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.apiKeys.revokeKey(tx, auditActorOf(ctx), id));
  }

  @FieldResolver(() => ApiKeyStatus)
  status(@Root() key: ApiKeyEntity): ApiKeyStatus {
    if (key.status === 'REVOKED') return ApiKeyStatus.REVOKED;
    if (!keyIsLive(key)) return ApiKeyStatus.EXPIRED;
    return key.status === 'ROTATING' ? ApiKeyStatus.ROTATING : ApiKeyStatus.ACTIVE;
  }

  @FieldResolver(() => UserType)
  owner(@Root() key: ApiKeyType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.userById.load(key.ownerId);
  }

  @FieldResolver(() => OrgType)
  org(@Root() key: ApiKeyType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(key.orgId);
  }

  @FieldResolver(() => ApiKeyType, { nullable: true, description: 'The key this one replaced.' })
  rotatedFrom(@Root() key: ApiKeyType, @Ctx() ctx: GraphQLContext) {
    return key.rotatedFromId ? ctx.loaders.apiKeyById.load(key.rotatedFromId) : null;
  }

  @FieldResolver(() => UserType, { nullable: true })
  createdBy(@Root() key: ApiKeyType, @Ctx() ctx: GraphQLContext) {
    return key.createdById ? ctx.loaders.userById.load(key.createdById) : null;
  }
}

@Resolver(() => OrgType)
export class OrgApiKeysResolver {
  @FieldResolver(() => ApiKeyConnection, { description: 'Every key of the org, newest first.' })
  async apiKeys(@Root() org: OrgType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    return connectionFrom(
      ApiKeyConnection,
      await ctx.loaders.pages.load(orgApiKeys, org.id, page),
      ctx.loaders.apiKeyById,
    );
  }

  @FieldResolver(() => ServiceAccountConnection, { description: "The org's service accounts, by name." })
  async serviceAccounts(@Root() org: OrgType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const accounts = await ctx.loaders.pages.load(orgServiceAccounts, org.id, page);
    return connectionFrom(ServiceAccountConnection, accounts, ctx.loaders.userById);
  }
}

@Resolver(() => UserType)
export class UserApiKeysResolver {
  @FieldResolver(() => ApiKeyConnection, {
    description: 'Keys the user owns, newest first, in orgs where the caller may see keys.',
  })
  async apiKeys(@Root() user: UserType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const callerId = ctx.principal!.userId;
    const owner = { userId: user.id, orgIds: await orgsShowingKeysOf(ctx, user.id) };
    return connectionFrom(
      ApiKeyConnection,
      await ctx.loaders.pages.load(userApiKeys(callerId), owner, page),
      ctx.loaders.apiKeyById,
    );
  }
}

/** Where the caller sees a user's keys: all of their own; elsewhere where it reads both the member and keys. */
async function orgsShowingKeysOf(ctx: GraphQLContext, userId: string): Promise<readonly string[] | 'all'> {
  if (userId === ctx.principal?.userId) return 'all';
  const visible = await visibleOrgsOf(ctx, userId);
  return visible === 'all' ? 'all' : ctx.access.orgsWhere('apikeys:read', [...visible]);
}
