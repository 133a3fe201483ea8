import { rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { relationTo } from '../users/user-visibility';
import type { NodeTypeName } from './node-lookup';

/** Mirrors each type's read rule, so an id the caller may not see answers NOT_FOUND here too. */
async function isVisible(ctx: GraphQLContext, type: NodeTypeName, id: string): Promise<boolean> {
  switch (type) {
    case 'User':
      return ['self', 'super_user', 'permitted'].includes(await relationTo(ctx, id, 'members:read'));
    case 'Org':
      return ctx.access.canSeeOrg(id);
    case 'Role': {
      const role = await ctx.loaders.roleById.load(id);
      if (!role) return false;
      if (await ctx.access.can(role.orgId, 'roles:read')) return true;
      return (await ctx.access.membership(role.orgId))?.roleId === role.id;
    }
    case 'Membership': {
      const membership = await ctx.loaders.membershipById.load(id);
      if (!membership) return false;
      return membership.userId === ctx.principal?.userId || ctx.access.can(membership.orgId, 'members:read');
    }
    case 'ApiKey': {
      const key = await ctx.loaders.apiKeyById.load(id);
      if (!key) return false;
      return key.ownerId === ctx.principal?.userId || ctx.access.can(key.orgId, 'apikeys:read');
    }
    case 'Invitation': {
      const invitation = await ctx.loaders.invitationById.load(id);
      return invitation !== null && ctx.access.can(invitation.orgId, 'members:invite');
    }
  }
}

const canSeeNode = rule({ cache: 'no_cache' })(async (_parent, args: { id: string }, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const type = isId(args.id) ? await ctx.loaders.nodeTypeById.load(args.id) : null;
  return (type !== null && (await isVisible(ctx, type, args.id))) || new AppError('node.not_found');
});

export const nodeRules = {
  Query: { node: canSeeNode },
};
