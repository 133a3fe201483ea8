import type { GraphQLContext } from '../../core/context/context';

export type TeamVisibility = 'visible' | 'forbidden' | 'not_found';

/**
 * Teams are readable with teams:read in their org, and by their own members, so that a user
 * listing their teams can read them. A team of an org the caller cannot see does not exist.
 */
export async function teamVisibility(
  ctx: GraphQLContext,
  team: { id: string; orgId: string },
): Promise<TeamVisibility> {
  if (!ctx.principal || !(await ctx.access.canSeeOrg(team.orgId))) return 'not_found';
  if (await ctx.access.can(team.orgId, 'teams:read')) return 'visible';
  const ownTeamIds = await ctx.loaders.teamIdsByUserId.load(ctx.principal.userId);
  return ownTeamIds.includes(team.id) ? 'visible' : 'forbidden';
}
