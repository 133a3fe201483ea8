import { allow, or, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import {
  hasPermission,
  inVisibleOrg,
  orgFromArg,
  orgOfParent,
  parentOrg,
  type OrgLocator,
} from '../../core/permissions/rules';
import { AccessLevel } from './access-grant.entity';
import { decideAccess } from './access-decision';
import type { ResourceType } from './resource.type';
import { checkedPrincipalId, resolveCheckedResource, subjectOf } from './checked-resource';

const orgOfResource =
  (argument: 'id' | 'resourceId'): OrgLocator =>
  async (_parent, args, ctx) =>
    isId(args[argument]) ? ((await ctx.loaders.resourceById.load(args[argument]))?.orgId ?? null) : null;

const orgOfGrantArg: OrgLocator = async (_parent, args: { grantId?: string }, ctx) => {
  if (!isId(args.grantId)) return null;
  const [grant] = await ctx.db.query(
    'SELECT r.org_id FROM access_grants g JOIN resources r ON r.id = g.resource_id WHERE g.id = $1',
    [args.grantId],
  );
  return grant?.org_id ?? null;
};

const orgOfGrantParent: OrgLocator = async (grant: { resourceId: string }, _args, ctx) =>
  (await ctx.loaders.resourceById.load(grant.resourceId))?.orgId ?? null;

/** Without resources:read, a resource is visible only to those who may READ it (customers, grantees). */
const mayUseResource = rule({ cache: 'no_cache' })(async (resource: ResourceType, _args, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const decision = await decideAccess(ctx.loaders, subjectOf(ctx), resource as never, AccessLevel.READ);
  return decision.allowed || new AppError('resource.not_found');
});

/**
 * Anyone may check their own access to a resource of an org they belong to; checking another
 * principal needs resources:read there. An org the caller cannot see answers NOT_FOUND.
 */
const canCheckAccess = rule({ cache: 'no_cache' })(async (_parent, args, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const { orgId } = await resolveCheckedResource(ctx, args);
  if (!orgId) return new AppError('request.invalid_input', { message: 'Name the org of the resource', field: 'orgId' });
  if (!(await ctx.access.canSeeOrg(orgId))) return new AppError('org.not_found');
  if (checkedPrincipalId(ctx, args.principalId) === ctx.principal.userId) return true;
  return (await ctx.access.can(orgId, 'resources:read')) || new AppError('auth.forbidden');
});

const canWriteResource = hasPermission('resources:write', orgOfResource('id'), 'resource.not_found');

export const resourceRules = {
  Query: { checkAccess: canCheckAccess },
  Mutation: {
    createResource: hasPermission('resources:write', orgFromArg('input', 'orgId')),
    updateResource: canWriteResource,
    deleteResource: canWriteResource,
    grantAccess: hasPermission('access:grant', orgOfResource('resourceId'), 'resource.not_found'),
    revokeAccess: hasPermission('access:grant', orgOfGrantArg, 'grant.not_found'),
    revokeAllAccess: hasPermission('access:grant', orgOfResource('resourceId'), 'resource.not_found'),
  },
  Org: { resources: inVisibleOrg(parentOrg) },
  Resource: {
    '*': or(hasPermission('resources:read', orgOfParent, 'resource.not_found'), mayUseResource),
    grants: hasPermission('resources:read', orgOfParent, 'resource.not_found'),
    customers: hasPermission('resources:read', orgOfParent, 'resource.not_found'),
    accessCounts: hasPermission('resources:read', orgOfParent, 'resource.not_found'),
  },
  AccessGrant: hasPermission('resources:read', orgOfGrantParent, 'grant.not_found'),
  Group: { grants: hasPermission('resources:read', orgOfParent, 'group.not_found') },
  ResourceAccessCounts: allow,
  AccessDecision: allow,
};
