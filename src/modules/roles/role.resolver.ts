import { IdArgs } from '../../core/graphql/id-args';
import { Arg, Args, Ctx, Mutation, Resolver } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { CreateRoleInput, UpdateRoleArgs } from './role.inputs';
import { RoleType } from './role.type';

@Resolver(() => RoleType)
export class RoleResolver {
  @Mutation(() => RoleType, { description: 'Creates a custom role in an org.' })
  async createRole(@Arg('input', () => CreateRoleInput) input: CreateRoleInput, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.roles.createRole(tx, auditActorOf(ctx), input));
  }

  @Mutation(() => RoleType, { description: 'Renames a custom role or replaces its permissions.' })
  async updateRole(@Args() { id, input }: UpdateRoleArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.roles.updateRole(tx, auditActorOf(ctx), id, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a custom role that nobody holds.' })
  async deleteRole(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.roles.deleteRole(tx, auditActorOf(ctx), id));
  }
}
