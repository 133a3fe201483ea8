import { Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { auditActorOf, isDelegated, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { ExportUsersArgs, ImportUsersArgs } from './user-import.inputs';
import { ImportUsersResultType } from './user-import.type';
import { authorityOverAccount } from '../users/account-authority';

@Resolver()
export class UserImportResolver {
  @Mutation(() => ImportUsersResultType, {
    description:
      'Creates or updates members from CSV, each line on its own. A new account is a member at once and gets no email; ' +
      'a member of the org is updated; an existing account that is not a member is never added: it is sent an email ' +
      'invitation with the role, groups and teams of its line, and joins only if its holder accepts (its password and ' +
      'customerId columns are ignored).',
  })
  async importUsers(@Args() { orgId, csv }: ImportUsersArgs, @Ctx() ctx: GraphQLContext) {
    const service = ctx.services.userImport;
    const prepared = await service.prepare(ctx.db.manager, orgId, csv, ctx.ipAddress);
    const principal = ctx.principal!;
    const caller = {
      userId: principal.userId,
      permissions: await ctx.access.permissions(orgId),
      rank: await ctx.access.rank(orgId),
      // Renaming oneself is self-service, which a delegated credential never reaches.
      authorityOverAccount: async (userId: string) => {
        if (userId !== principal.userId) return authorityOverAccount(ctx, userId, 'members:update');
        return !isDelegated(principal) || new AppError('auth.delegated_not_allowed');
      },
    };
    return ctx.db.transaction((tx) => service.importUsers(tx, auditActorOf(ctx), caller, orgId, prepared));
  }

  @Query(() => String, {
    description:
      "The org's members as CSV: email, firstName, lastName, role, groups, teams, status, kind, customerId, createdAt, " +
      'lastLoginAt. Cells that a spreadsheet would run as a formula are prefixed with a single quote.',
  })
  async exportUsers(@Args() { orgId, kind }: ExportUsersArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.services.userImport.exportUsers(ctx.db.manager, orgId, kind ?? null);
  }
}
