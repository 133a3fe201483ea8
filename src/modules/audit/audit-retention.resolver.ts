import { Args, Ctx, Mutation, Resolver } from 'type-graphql';
import { recordAudit } from '../../core/audit/audit';
import { pruneAuditChain } from '../../core/audit/retention';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { findLockedOrFail } from '../../core/db/rows';
import { OrgEntity } from '../orgs/org.entity';
import { OrgType } from '../orgs/org.type';
import { AuditPruneResultType } from './audit-retention.type';
import { PruneAuditLogsArgs, SetAuditRetentionArgs } from './audit.inputs';

@Resolver()
export class AuditRetentionResolver {
  @Mutation(() => OrgType, { description: "Sets how many days the org's audit records are kept; null keeps them." })
  setAuditRetention(@Args() { orgId, days }: SetAuditRetentionArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction(async (tx) => {
      const org = await findLockedOrFail(tx, OrgEntity, orgId, 'org.not_found');
      const before = { auditRetentionDays: org.auditRetentionDays };
      org.auditRetentionDays = days ?? null;
      await tx.save(org);
      await recordAudit(tx, auditActorOf(ctx), {
        action: 'audit.retention_changed',
        orgId,
        targetType: 'Org',
        targetId: orgId,
        changes: { before, after: { auditRetentionDays: org.auditRetentionDays } },
      });
      return org;
    });
  }

  @Mutation(() => AuditPruneResultType, {
    description: "Removes the org's audit records older than its retention, leaving a signed checkpoint.",
  })
  pruneAuditLogs(@Args() { orgId }: PruneAuditLogsArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => pruneAuditChain(tx, ctx.services.signingKeys, auditActorOf(ctx), orgId));
  }
}
