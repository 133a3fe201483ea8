import { rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { AccessLevel } from '../resources/access-grant.entity';
import { decideAccess } from '../resources/access-decision';
import { subjectOf } from '../resources/checked-resource';
import { teamVisibility } from '../teams/team-visibility';
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
    case 'Resource': {
      const resource = await ctx.loaders.resourceById.load(id);
      if (!resource || !(await ctx.access.canSeeOrg(resource.orgId))) return false;
      if (await ctx.access.can(resource.orgId, 'resources:read')) return true;
      return (await decideAccess(ctx.loaders, subjectOf(ctx), resource, AccessLevel.READ)).allowed;
    }
    case 'ApiKey': {
      const key = await ctx.loaders.apiKeyById.load(id);
      if (!key) return false;
      return key.ownerId === ctx.principal?.userId || ctx.access.can(key.orgId, 'apikeys:read');
    }
    case 'Group': {
      const group = await ctx.loaders.groupById.load(id);
      return group !== null && ctx.access.can(group.orgId, 'groups:read');
    }
    case 'Invitation': {
      const invitation = await ctx.loaders.invitationById.load(id);
      return invitation !== null && ctx.access.can(invitation.orgId, 'members:invite');
    }
    case 'Team': {
      const team = await ctx.loaders.teamById.load(id);
      return team !== null && (await teamVisibility(ctx, team)) === 'visible';
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
