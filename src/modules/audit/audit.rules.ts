import { allow, and, chain, or, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { hasPermission, isAuthenticated, orgFromArg } from '../../core/permissions/rules';
import { isDeletedOrg } from '../orgs/deleted-orgs';
import { relationTo } from '../users/user-visibility';
import type { AuditLogType } from './audit-log.type';

/** Without an org, `auditLogs` reads every org: that is for super users only. */
const orgRequiredUnlessSuperUser = rule({ cache: 'no_cache' })(
  (_parent, args: { orgId?: string | null }, ctx: GraphQLContext) =>
    args.orgId != null || ctx.access.isSuperUser || new AppError('audit.org_required', { field: 'orgId' }),
);

/**
 * Without an org, `verifyAuditChain` checks the account-level chain (sign-ins, account acts), whose
 * records only super users read. An API key never carries super-user power, so it is refused too.
 */
const accountChainOnlyForSuperUsers = rule({ cache: 'no_cache' })(
  (_parent, args: { orgId?: string | null }, ctx: GraphQLContext) =>
    args.orgId != null || ctx.access.isSuperUser || new AppError('auth.forbidden'),
);

/** Reached only after a rule that admits no org for super users alone, so no org here means a super user. */
const namesNoOrg = rule({ cache: 'no_cache' })((_parent, args: { orgId?: string | null }) => args.orgId == null);

/**
 * Each record again, so a record can never be read through a path that forgot to scope its
 * listing: audit:read in its org, or a super user (the only readers of account-level records).
 */
const canReadRecord = rule({ cache: 'no_cache' })(async (record: AuditLogType, _args, ctx: GraphQLContext) => {
  if (ctx.access.isSuperUser) return true;
  return (
    (record.orgId !== null && (await ctx.access.can(record.orgId, 'audit:read'))) || new AppError('auth.forbidden')
  );
});

/** Another user's records are listed only when that user is visible at all; the listing is scoped further. */
const canSeeUserRecords = rule({ cache: 'no_cache' })(async (user: { id: string }, _args, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  return (await relationTo(ctx, user.id, 'audit:read')) !== 'stranger' || new AppError('user.not_found');
});

const readsOrgAudit = hasPermission('audit:read', orgFromArg('orgId'));

/**
 * A deleted org's records stay readable and verifiable by super users; anyone else gets what an
 * unknown org gives (readsOrgAudit's NOT_FOUND).
 */
const superUserReadsDeletedOrg = rule({ cache: 'no_cache' })(
  async (_parent, args: { orgId?: string | null }, ctx: GraphQLContext) =>
    ctx.access.isSuperUser && (await isDeletedOrg(ctx.db, args.orgId)),
);

export const auditRules = {
  Query: {
    auditLogs: chain(
      isAuthenticated,
      orgRequiredUnlessSuperUser,
      or(namesNoOrg, superUserReadsDeletedOrg, readsOrgAudit),
    ),
    verifyAuditChain: chain(
      isAuthenticated,
      accountChainOnlyForSuperUsers,
      or(namesNoOrg, superUserReadsDeletedOrg, readsOrgAudit),
    ),
  },
  Mutation: {
    setAuditRetention: hasPermission('org:update', orgFromArg('orgId')),
    // Removing records needs both: the right to read them and to change the org's settings.
    pruneAuditLogs: and(readsOrgAudit, hasPermission('org:update', orgFromArg('orgId'))),
  },
  User: { auditLogs: canSeeUserRecords, auditLogsAbout: canSeeUserRecords },
  AuditLog: canReadRecord,
  // The query that produced them was already authorised; each record is checked on its own.
  AuditLogConnection: allow,
  AuditLogEdge: allow,
  AuditChainVerification: allow,
  AuditPruneResult: allow,
  AuditCheckpoint: allow,
};
