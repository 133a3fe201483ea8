import { or, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import {
  hasPermission,
  inVisibleOrg,
  isAuthenticated,
  orgFromArg,
  parentOrg,
  type OrgLocator,
} from '../../core/permissions/rules';

/** The org named by `id` or `slug`. */
const orgFromLookup: OrgLocator = async (_parent, args: { id?: string; slug?: string }, ctx) => {
  if (args.id) return isId(args.id) ? args.id : null;
  return args.slug ? ((await ctx.loaders.orgBySlug.load(args.slug))?.id ?? null) : null;
};

/** Self-service: any signed-in person may create an org; machines and API keys may not. */
const canCreateOrg = rule({ cache: 'contextual' })((_parent, _args, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  return (
    (ctx.principal.kind !== 'SERVICE_ACCOUNT' && ctx.principal.apiKeyId === null) || new AppError('auth.forbidden')
  );
});

export const orgRules = {
  Query: {
    org: inVisibleOrg(orgFromLookup),
    orgs: isAuthenticated,
  },
  Mutation: {
    createOrg: canCreateOrg,
    updateOrg: hasPermission('org:update', orgFromArg('id')),
  },
  Org: {
    '*': inVisibleOrg(parentOrg),
    roles: hasPermission('roles:read', parentOrg),
    auditRetentionDays: or(hasPermission('audit:read', parentOrg), hasPermission('org:update', parentOrg)),
  },
};
