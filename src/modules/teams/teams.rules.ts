import { rule } from 'graphql-shield';
import type { GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { isId } from '../../core/ids';
import { hasPermission, orgFromArg, parentOrg, type OrgLocator } from '../../core/permissions/rules';
import { teamVisibility } from './team-visibility';
import type { TeamType } from './team.type';

/** The org of the team named by the `argument` argument; null when there is no such team. */
const orgOfTeamArg =
  (argument: 'id' | 'teamId'): OrgLocator =>
  async (_parent, args: Record<string, unknown>, ctx) => {
    const teamId = args[argument];
    return isId(teamId) ? ((await ctx.loaders.teamById.load(teamId))?.orgId ?? null) : null;
  };

/** Writing needs teams:write in the team's org; a team the caller cannot see answers NOT_FOUND. */
const canWriteTeam = (argument: 'id' | 'teamId') =>
  hasPermission('teams:write', orgOfTeamArg(argument), 'team.not_found');

/** Who may read a team: see `teamVisibility`, which `node(id)` shares. */
const canReadTeam = rule({ cache: 'no_cache' })(async (team: TeamType, _args, ctx: GraphQLContext) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  const visibility = await teamVisibility(ctx, team);
  if (visibility === 'not_found') return new AppError('team.not_found');
  return visibility === 'visible' || new AppError('auth.forbidden');
});

/** A user's teams in an org: for the user themselves, or a holder of teams:read there. */
const canReadUserTeams = rule({ cache: 'no_cache' })(async (
  user: { id: string },
  args: { orgId: string },
  ctx: GraphQLContext,
) => {
  if (!ctx.principal) return ctx.authError ?? new AppError('auth.unauthenticated');
  if (!isId(args.orgId) || !(await ctx.access.canSeeOrg(args.orgId))) return new AppError('org.not_found');
  if (user.id === ctx.principal.userId) return true;
  return (await ctx.access.can(args.orgId, 'teams:read')) || new AppError('auth.forbidden');
});

export const teamRules = {
  Mutation: {
    createTeam: hasPermission('teams:write', orgFromArg('input', 'orgId')),
    updateTeam: canWriteTeam('id'),
    deleteTeam: canWriteTeam('id'),
    addTeamMembers: canWriteTeam('teamId'),
    removeTeamMembers: canWriteTeam('teamId'),
  },
  Org: {
    teams: hasPermission('teams:read', parentOrg),
  },
  User: {
    teams: canReadUserTeams,
  },
  Team: canReadTeam,
};
