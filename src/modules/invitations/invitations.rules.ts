import { allow, chain } from 'graphql-shield';
import { isId } from '../../core/ids';
import {
  hasPermission,
  offersOnlyHeldRole,
  orgFromArg,
  orgOfParent,
  parentOrg,
  type OrgLocator,
} from '../../core/permissions/rules';

/** The org of the invitation named by the `id` argument. */
const orgOfInvitationArg: OrgLocator = async (_parent, args: { id?: string }, ctx) =>
  isId(args.id) ? ((await ctx.loaders.invitationById.load(args.id))?.orgId ?? null) : null;

const canInvite = chain(
  hasPermission('members:invite', orgFromArg('input', 'orgId')),
  offersOnlyHeldRole((args) => args.input.roleId, orgFromArg('input', 'orgId')),
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
