import { or } from 'graphql-shield';
import { isId } from '../../core/ids';
import {
  hasPermission,
  inVisibleOrg,
  isAuthenticated,
  isSignedInPerson,
  orgFromArg,
  parentOrg,
  type OrgLocator,
} from '../../core/permissions/rules';

/** The org named by `id` or `slug`. */
const orgFromLookup: OrgLocator = async (_parent, args: { id?: string; slug?: string }, ctx) => {
  if (args.id) return isId(args.id) ? args.id : null;
  return args.slug ? ((await ctx.loaders.orgBySlug.load(args.slug))?.id ?? null) : null;
};

export const orgRules = {
  Query: {
    org: inVisibleOrg(orgFromLookup),
    orgs: isAuthenticated,
  },
  Mutation: {
    createOrg: isSignedInPerson,
    updateOrg: hasPermission('org:update', orgFromArg('id')),
  },
  Org: {
    '*': inVisibleOrg(parentOrg),
    roles: hasPermission('roles:read', parentOrg),
    auditRetentionDays: or(hasPermission('audit:read', parentOrg), hasPermission('org:update', parentOrg)),
  },
};
