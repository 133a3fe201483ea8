import { IdArgs } from '../../core/graphql/id-args';
import { Arg, Args, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { auditActorOf, readList, type GraphQLContext } from '../../core/context/context';
import { PageArgs } from '../../core/graphql/connection';
import { connectionFrom } from '../../core/graphql/connection-type';
import { OrgType } from '../orgs/org.type';
import { UserType } from '../users/user.type';
import { CreateTeamInput, TeamMembersArgs, UpdateTeamArgs, UserTeamsArgs } from './team.inputs';
import { TeamConnection, TeamMemberConnection, TeamType } from './team.type';
import { loadAll } from '../../core/db/load-by-ids';
import { orgTeams, teamMembers } from './teams.lists';

@Resolver(() => TeamType)
export class TeamResolver {
  @Mutation(() => TeamType, { description: 'Creates a team in an org; its slug is derived from the name.' })
  async createTeam(@Arg('input', () => CreateTeamInput) input: CreateTeamInput, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.teams.createTeam(tx, auditActorOf(ctx), input));
  }

  @Mutation(() => TeamType, { description: 'Renames a team.' })
  async updateTeam(@Args() { id, input }: UpdateTeamArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.teams.updateTeam(tx, auditActorOf(ctx), id, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a team and its memberships; the users remain.' })
  async deleteTeam(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.teams.deleteTeam(tx, auditActorOf(ctx), id));
  }

  @Mutation(() => TeamType, { description: "Adds members of the team's org; those already in it are skipped." })
  async addTeamMembers(@Args() { teamId, userIds }: TeamMembersArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.teams.addMembers(tx, auditActorOf(ctx), teamId, userIds));
  }

  @Mutation(() => TeamType, { description: 'Removes users from a team; ids not in it are ignored.' })
  async removeTeamMembers(@Args() { teamId, userIds }: TeamMembersArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.teams.removeMembers(tx, auditActorOf(ctx), teamId, userIds));
  }

  @FieldResolver(() => OrgType)
  org(@Root() team: TeamType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(team.orgId);
  }

  @FieldResolver(() => TeamMemberConnection, { description: 'Ordered by email.' })
  async members(@Root() team: TeamType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    // The ids possibly from a replica (ListReads): the field's rule decides on the primary who may
    // list the team, and each user is read, and shown under its own rules, on the primary.
    return connectionFrom(
      TeamMemberConnection,
      await readList(ctx, (reads) => reads.loaders.pages.load(teamMembers, team.id, page)),
      ctx.loaders.userById,
    );
  }
}

@Resolver(() => OrgType)
export class OrgTeamsResolver {
  @FieldResolver(() => TeamConnection, { description: 'Ordered by name.' })
  async teams(@Root() org: OrgType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    // The ids possibly from a replica, as Team.members; each team is read on the primary.
    return connectionFrom(
      TeamConnection,
      await readList(ctx, (reads) => reads.loaders.pages.load(orgTeams, org.id, page)),
      ctx.loaders.teamById,
    );
  }
}

@Resolver(() => UserType)
export class UserTeamsResolver {
  @FieldResolver(() => [TeamType], { description: "The user's teams in one org, ordered by name." })
  async teams(@Root() user: UserType, @Args() { orgId }: UserTeamsArgs, @Ctx() ctx: GraphQLContext) {
    const teams = await loadAll(ctx.loaders.teamById, await ctx.loaders.teamIdsByUserId.load(user.id));
    return teams.filter((team) => team.orgId === orgId);
  }
}
