import { chain, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { grantsOnlyHeldPermissions, hasPermission, orgFromArg, type OrgLocator } from '../../core/permissions/rules';
import { targetRankOf } from '../../core/permissions/permissions';
import { decidedPer } from '../../core/permissions/shield';
import { OWNER_RANK } from './role-rank';
import type { RoleType } from './role.type';

/** The org of the role named by the `id` argument. */
const orgOfRoleArg: OrgLocator = async (_parent, args: { id?: string }, ctx) =>
  isId(args.id) ? ((await ctx.loaders.roleById.load(args.id))?.orgId ?? null) : null;

/**
 * Roles are readable with roles:read in their org; everyone may read the role they hold. Decided
 * once per role and request: a member page shows the same few roles on every row.
 */
const canReadRole = decidedPer(
  (role: RoleType) => `${role.orgId}:${role.id}`,
  rule({ cache: 'no_cache' })(async (role: RoleType, _args, ctx: GraphQLContext) => {
    if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
    if (await ctx.access.can(role.orgId, 'roles:read')) return true;
    return (await ctx.access.membership(role.orgId))?.roleId === role.id || new AppError('role.not_found');
  }),
);

/**
 * Changing or deleting a role acts on everyone who holds it, directly or through a group: the
 * caller must outrank the role as it stands (an owner: any), as changeRole must outrank a member.
 * Otherwise narrowing an owner-level role would demote its holders past the rank rules.
 */
const outranksRoleArg = rule({ cache: 'no_cache' })(async (_parent, args: { id?: string }, ctx: GraphQLContext) => {
  const role = isId(args.id) ? await ctx.loaders.roleById.load(args.id) : null;
  if (!role) return new AppError('role.not_found');
  const callerRank = await ctx.access.rank(role.orgId);
  return callerRank >= OWNER_RANK || targetRankOf(role.permissions) < callerRank || new AppError('member.outranked');
});

export const roleRules = {
  Mutation: {
    createRole: chain(
      hasPermission('roles:write', orgFromArg('input', 'orgId')),
      grantsOnlyHeldPermissions((args) => args.input.permissions, orgFromArg('input', 'orgId')),
    ),
    updateRole: chain(
      hasPermission('roles:write', orgOfRoleArg, 'role.not_found'),
      outranksRoleArg,
      grantsOnlyHeldPermissions((args) => args.input.permissions, orgOfRoleArg),
    ),
    deleteRole: chain(hasPermission('roles:write', orgOfRoleArg, 'role.not_found'), outranksRoleArg),
  },
  Role: canReadRole,
};
