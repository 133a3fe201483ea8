import { IdArgs } from '../../core/graphql/id-args';
import { Arg, Args, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { OrgType } from '../orgs/org.type';
import { UserType } from '../users/user.type';
import { visibleOrgsOf } from '../users/user-visibility';
import type { ApiKeyEntity } from './api-key.entity';
import { CreateKeyInput, CreateServiceAccountInput, RotateKeyArgs } from './api-key.inputs';
import { ApiKeyStatus, ApiKeyType, IssuedApiKeyType } from './api-key.type';
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
  @FieldResolver(() => [ApiKeyType], { description: 'Every key of the org, newest first.' })
  apiKeys(@Root() org: OrgType, @Ctx() ctx: GraphQLContext) {
    return ctx.services.apiKeys.listForOrg(org.id);
  }

  @FieldResolver(() => [UserType])
  serviceAccounts(@Root() org: OrgType, @Ctx() ctx: GraphQLContext) {
    return ctx.services.apiKeys.serviceAccounts(org.id);
  }
}

@Resolver(() => UserType)
export class UserApiKeysResolver {
  @FieldResolver(() => [ApiKeyType], { description: 'Keys the user owns, in orgs where the caller may see keys.' })
  async apiKeys(@Root() user: UserType, @Ctx() ctx: GraphQLContext) {
    const keys = await ctx.loaders.apiKeysByOwnerId.load(user.id);
    if (user.id === ctx.principal?.userId) return keys;
    const visible = await visibleOrgsOf(ctx, user.id);
    if (visible === 'all') return keys;
    const readable = await ctx.access.orgsWhere('apikeys:read', [...visible]);
    return keys.filter((key) => readable.includes(key.orgId));
  }
}
