import { Args, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../core/context/context';
import { verifyAuditChain } from '../../core/audit/verify-chain';
import { PageArgs } from '../../core/graphql/connection';
import { ApiKeyType } from '../api-keys/api-key.type';
import { OrgType } from '../orgs/org.type';
import { relationTo } from '../users/user-visibility';
import { UserType } from '../users/user.type';
import { AuditChainVerificationType, AuditLogConnectionType, AuditLogType } from './audit-log.type';
import { listAuditLogs, type AuditScope } from './audit-query';
import { AuditLogsArgs, VerifyAuditChainArgs } from './audit.inputs';

/** The orgs whose records the caller may read: every one for a super user. */
async function auditReadableOrgs(ctx: GraphQLContext): Promise<AuditScope['orgIds']> {
  if (ctx.access.isSuperUser) return 'all';
  const memberships = await ctx.loaders.membershipsByUserId.load(ctx.principal!.userId);
  return ctx.access.orgsWhere(
    'audit:read',
    memberships.map((membership) => membership.orgId),
  );
}

@Resolver(() => AuditLogType)
export class AuditLogResolver {
  @Query(() => AuditLogConnectionType, { description: "An org's audit records, newest first." })
  async auditLogs(@Args() { orgId, ...page }: AuditLogsArgs, @Ctx() ctx: GraphQLContext) {
    // The rule admits a null orgId only for a super user.
    return AuditLogConnectionType.from(await listAuditLogs(ctx.db, { orgIds: orgId ? [orgId] : 'all' }, page));
  }

  @Query(() => AuditChainVerificationType, {
    description: "Recomputes an org's audit hash chain, or without orgId the account-level one.",
  })
  verifyAuditChain(@Args() { orgId }: VerifyAuditChainArgs, @Ctx() ctx: GraphQLContext) {
    // The rule admits a null orgId only for a super user.
    return verifyAuditChain(ctx.db, orgId ?? null, ctx.services.signingKeys);
  }

  @FieldResolver(() => UserType, {
    nullable: true,
    description: 'Null for system and anonymous acts, and when the caller may not see that user.',
  })
  async actor(@Root() record: AuditLogType, @Ctx() ctx: GraphQLContext) {
    if (!record.actorId) return null;
    const relation = await relationTo(ctx, record.actorId, 'members:read');
    return relation === 'stranger' || relation === 'shares_org' ? null : ctx.loaders.userById.load(record.actorId);
  }

  @FieldResolver(() => ApiKeyType, { nullable: true, description: 'The API key used, when the caller may see it.' })
  async apiKey(@Root() record: AuditLogType, @Ctx() ctx: GraphQLContext) {
    const key = record.apiKeyId ? await ctx.loaders.apiKeyById.load(record.apiKeyId) : null;
    if (!key) return null;
    const visible = key.ownerId === ctx.principal?.userId || (await ctx.access.can(key.orgId, 'apikeys:read'));
    return visible ? key : null;
  }

  @FieldResolver(() => OrgType, { nullable: true, description: 'Null for account-level records.' })
  org(@Root() record: AuditLogType, @Ctx() ctx: GraphQLContext) {
    return record.orgId ? ctx.loaders.orgById.load(record.orgId) : null;
  }
}

@Resolver(() => AuditLogConnectionType)
export class AuditLogConnectionResolver {
  @FieldResolver(() => Int)
  totalCount(@Root() connection: AuditLogConnectionType) {
    return connection.page.totalCount();
  }
}

@Resolver(() => UserType)
export class UserAuditLogsResolver {
  @FieldResolver(() => AuditLogConnectionType, {
    description: 'What the user did, newest first, in the orgs where the caller holds audit:read.',
  })
  async auditLogs(@Root() user: UserType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const scope = { orgIds: await auditReadableOrgs(ctx), actorId: user.id };
    return AuditLogConnectionType.from(await listAuditLogs(ctx.db, scope, page));
  }

  @FieldResolver(() => AuditLogConnectionType, {
    description:
      'What happened to the user (their account, memberships, sessions and keys), newest first, once per event, in the orgs where the caller holds audit:read; a super user also reads the account chain.',
  })
  async auditLogsAbout(@Root() user: UserType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const scope = { orgIds: await auditReadableOrgs(ctx), subjectUserId: user.id, oneRowPerEvent: true };
    return AuditLogConnectionType.from(await listAuditLogs(ctx.db, scope, page));
  }
}
