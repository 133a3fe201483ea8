import { allow, chain, rule } from 'graphql-shield';
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
import { groupsHoldingGrants } from '../groups/groups.rules';

/** The org of the invitation named by the `id` argument. */
const orgOfInvitationArg: OrgLocator = async (_parent, args: { id?: string }, ctx) =>
  isId(args.id) ? ((await ctx.loaders.invitationById.load(args.id))?.orgId ?? null) : null;

/**
 * Joining a group inherits its role and its access grants: nobody invites into a group whose role
 * holds more than they do, and only a holder of access:grant (what grantAccess needs) invites into
 * a group that holds grants.
 */
const joinsOnlyHeldGroups = rule({ cache: 'no_cache' })(async (
  _parent,
  { input }: { input: { orgId: string; groupIds?: string[] | null } },
  ctx: GraphQLContext,
) => {
  const held = await ctx.access.permissions(input.orgId);
  const groupIds = (input.groupIds ?? []).filter(isId);
  const holdingGrants = await groupsHoldingGrants(ctx, groupIds);
  for (const groupId of groupIds) {
    const group = await ctx.loaders.groupById.load(groupId);
    if (!group || group.orgId !== input.orgId) continue;
    if (holdingGrants.has(groupId) && !held.has('access:grant')) {
      return new AppError('group.holds_grants', {
        message: `The group "${group.name}" holds access grants: inviting into it needs access:grant`,
      });
    }
    const role = group.roleId ? await ctx.loaders.roleById.load(group.roleId) : null;
    if (role && !role.permissions.every((permission) => held.has(permission))) return new AppError('role.escalation');
  }
  return true;
});

const canInvite = chain(
  hasPermission('members:invite', orgFromArg('input', 'orgId')),
  offersOnlyHeldRole((args) => args.input.roleId, orgFromArg('input', 'orgId')),
  joinsOnlyHeldGroups,
);
const canManageInvitation = hasPermission('members:invite', orgOfInvitationArg, 'invitation.not_found');

export const invitationRules = {
  Mutation: {
    invite: canInvite,
    createInviteLink: canInvite,
    resendInvitation: canManageInvitation,
    revokeInvitation: canManageInvitation,
    // The token is the credential.
    acceptInvitation: allow,
  },
  Org: { invitations: hasPermission('members:invite', parentOrg) },
  Invitation: hasPermission('members:invite', orgOfParent, 'invitation.not_found'),
  InviteLink: allow,
};
