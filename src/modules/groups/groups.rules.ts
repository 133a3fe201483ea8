/* eslint-disable @typescript-eslint/no-explicit-any -- graphql-shield hands rules untyped arguments; each accessor narrows what it reads. */
import { chain, or, rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import {
  hasPermission,
  offersOnlyHeldRole,
  orgFromArg,
  orgOfParent,
  parentOrg,
  type OrgLocator,
} from '../../core/permissions/rules';
import { targetRankOf } from '../../core/permissions/permissions';
import { OWNER_RANK } from '../roles/role-rank';
import { relationTo } from '../users/user-visibility';
import type { UserType } from '../users/user.type';

type ArgReader = (args: any) => unknown;

const loadGroup = async (ctx: GraphQLContext, id: unknown) => (isId(id) ? ctx.loaders.groupById.load(id) : null);

/** The org of the group named by an argument. */
const orgOfGroup =
  (groupIdOf: ArgReader): OrgLocator =>
  async (_parent, args, ctx) =>
    (await loadGroup(ctx, groupIdOf(args)))?.orgId ?? null;

/** Giving a group a role is granting that role to its members: only one the caller holds in full. */
const offersOnlyHeldRoleIfAny = (roleIdOf: ArgReader, locate: OrgLocator) =>
  or(
    rule({ cache: 'no_cache' })((_parent, args) => roleIdOf(args) == null),
    offersOnlyHeldRole(roleIdOf, locate),
  );

/**
 * Changing who inherits a group's role — adding or removing members, replacing or clearing the
 * role, deleting the group — is for callers who hold every permission of that role: otherwise an
 * admin could hand out an owner group's role, or an editor strip an admin group's members.
 */
const holdsGroupRole = (groupIdOf: ArgReader, appliesTo: (args: any) => boolean = () => true) =>
  rule({ cache: 'no_cache' })(async (_parent, args, ctx: GraphQLContext) => {
    if (!appliesTo(args)) return true;
    const group = await loadGroup(ctx, groupIdOf(args));
    if (!group) return new AppError('group.not_found');
    const role = group.roleId ? await ctx.loaders.roleById.load(group.roleId) : null;
    if (!role) return true;
    const held = await ctx.access.permissions(group.orgId);
    return (
      role.permissions.every((permission) => held.has(permission)) ||
      new AppError('role.escalation', { message: `The group's role "${role.key}" holds permissions you do not have` })
    );
  });

/** Which of `groupIds` hold an access grant on some resource: whoever is in them reaches it. */
export async function groupsHoldingGrants(ctx: GraphQLContext, groupIds: string[]): Promise<Set<string>> {
  const ids = groupIds.filter(isId);
  if (ids.length === 0) return new Set();
  const rows: Array<{ group_id: string }> = await ctx.db.query(
    'SELECT DISTINCT group_id FROM access_grants WHERE group_id = ANY($1::uuid[])',
    [ids],
  );
  return new Set(rows.map((row) => row.group_id));
}

/**
 * A group's access grants reach whoever is in it: adding a member grants them, removing one or
 * deleting the group revokes them. So changing who is in a group that holds grants needs
 * access:grant, exactly what grantAccess and revokeAccess need (holding it already gives ADMIN on
 * every resource of the org), so joining a group is never more than granting directly.
 */
const mayChangeGrantHolders = (groupIdOf: ArgReader) =>
  rule({ cache: 'no_cache' })(async (_parent, args, ctx: GraphQLContext) => {
    const group = await loadGroup(ctx, groupIdOf(args));
    if (!group) return new AppError('group.not_found');
    if (!(await groupsHoldingGrants(ctx, [group.id])).has(group.id)) return true;
    return (await ctx.access.can(group.orgId, 'access:grant')) || new AppError('group.holds_grants');
  });

/** A user's groups in an org: the user themselves, or whoever may read both the user and the org's groups. */
const canReadUserGroups = rule({ cache: 'no_cache' })(async (
  user: UserType,
  args: { orgId: string },
  ctx: GraphQLContext,
) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (!isId(args.orgId) || !(await ctx.access.canSeeOrg(args.orgId))) return new AppError('org.not_found');
  const relation = await relationTo(ctx, user.id, 'members:read');
  if (relation === 'stranger') return new AppError('user.not_found');
  if (relation === 'shares_org') return new AppError('auth.forbidden');
  if (relation === 'self') return true;
  return (await ctx.access.can(args.orgId, 'groups:read')) || new AppError('auth.forbidden');
});

const fromInput = orgFromArg('input', 'orgId');
const groupArg = (args: any) => args.id;
/**
 * Taking a group's role away from its members — removing them, replacing or clearing the role,
 * deleting the group — demotes them: like changeRole, only for a caller who outranks that role
 * (an owner: any), so an admin cannot strip peer admins of an admin group's role. A group without
 * members demotes nobody.
 */
const outranksGroupRole = (groupIdOf: ArgReader, appliesTo: (args: any) => boolean = () => true) =>
  rule({ cache: 'no_cache' })(async (_parent, args, ctx: GraphQLContext) => {
    if (!appliesTo(args)) return true;
    const group = await loadGroup(ctx, groupIdOf(args));
    const role = group?.roleId ? await ctx.loaders.roleById.load(group.roleId) : null;
    if (!group || !role || (await ctx.loaders.memberIdsByGroupId.load(group.id)).length === 0) return true;
    const callerRank = await ctx.access.rank(group.orgId);
    return callerRank >= OWNER_RANK || targetRankOf(role.permissions) < callerRank || new AppError('member.outranked');
  });

const membersGroupArg = (args: any) => args.groupId;
const canWrite = (groupIdOf: ArgReader) => hasPermission('groups:write', orgOfGroup(groupIdOf), 'group.not_found');

export const groupRules = {
  Mutation: {
    createGroup: chain(
      hasPermission('groups:write', fromInput),
      offersOnlyHeldRoleIfAny((args) => args.input.roleId, fromInput),
    ),
    updateGroup: chain(
      canWrite(groupArg),
      holdsGroupRole(groupArg, (args) => args.input.roleId !== undefined),
      outranksGroupRole(groupArg, (args) => args.input.roleId !== undefined),
      offersOnlyHeldRoleIfAny((args) => args.input.roleId, orgOfGroup(groupArg)),
    ),
    deleteGroup: chain(
      canWrite(groupArg),
      holdsGroupRole(groupArg),
      outranksGroupRole(groupArg),
      mayChangeGrantHolders(groupArg),
    ),
    addGroupMembers: chain(
      canWrite(membersGroupArg),
      holdsGroupRole(membersGroupArg),
      mayChangeGrantHolders(membersGroupArg),
    ),
    removeGroupMembers: chain(
      canWrite(membersGroupArg),
      holdsGroupRole(membersGroupArg),
      outranksGroupRole(membersGroupArg),
      mayChangeGrantHolders(membersGroupArg),
    ),
  },
  Org: { groups: hasPermission('groups:read', parentOrg) },
  User: { groups: canReadUserGroups },
  Group: hasPermission('groups:read', orgOfParent, 'group.not_found'),
};
