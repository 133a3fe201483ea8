import { allow, chain, or, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { effectiveRank } from '../../core/permissions/caller-access';
import {
  hasPermission,
  isOwnedBySelf,
  offersOnlyHeldRole,
  orgFromArg,
  orgOfParent,
  parentOrg,
} from '../../core/permissions/rules';
import { OWNER_RANK } from '../roles/role-rank';

type MemberArgs = { orgId: string; userId: string };

/**
 * Rank: nobody acts on themselves; an owner acts on anyone else; others only on members of lower
 * rank (permissions.md). A target outside the org answers NOT_FOUND.
 */
export const canActOnMember = rule({ cache: 'no_cache' })(async (_parent, args: MemberArgs, ctx: GraphQLContext) => {
  const memberships = isId(args.userId) ? await ctx.loaders.membershipsByUserId.load(args.userId) : [];
  const target = memberships.find((membership) => membership.orgId === args.orgId);
  if (!target) return new AppError('member.not_found');
  if (args.userId === ctx.principal?.userId) return new AppError('member.self_change');
  const callerRank = await ctx.access.rank(args.orgId);
  if (callerRank >= OWNER_RANK) return true;
  return (await effectiveRank(ctx.loaders, args.userId, args.orgId)) < callerRank || new AppError('member.outranked');
});

export const memberRules = {
  Query: {
    users: hasPermission('members:read', orgFromArg('orgId')),
  },
  Mutation: {
    changeRole: chain(
      hasPermission('members:update', orgFromArg('orgId')),
      canActOnMember,
      offersOnlyHeldRole((args) => args.roleId, orgFromArg('orgId')),
    ),
    removeMember: chain(hasPermission('members:remove', orgFromArg('orgId')), canActOnMember),
    activate: chain(hasPermission('members:activate', orgFromArg('orgId')), canActOnMember),
    deactivate: chain(hasPermission('members:activate', orgFromArg('orgId')), canActOnMember),
  },
  Org: {
    members: hasPermission('members:read', parentOrg),
  },
  Membership: or(isOwnedBySelf, hasPermission('members:read', orgOfParent, 'member.not_found')),
  MembershipConnection: allow,
  MembershipEdge: allow,
  UserConnection: allow,
  UserEdge: allow,
};
