import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { PageArgs } from '../../core/graphql/connection';
import { connectionFrom } from '../../core/graphql/connection-type';
import { IdArgs } from '../../core/graphql/id-args';
import { OrgType } from '../orgs/org.type';
import { UserType } from '../users/user.type';
import { CreateOAuthClientInput, UpdateOAuthClientInput } from './oauth-client.inputs';
import { IssuedOAuthClientType, OAuthClientConnection, OAuthClientType } from './oauth-client.type';
import { orgOAuthClients } from './oauth-clients.lists';

@Resolver(() => OAuthClientType)
export class OAuthClientResolver {
  @Mutation(() => IssuedOAuthClientType, {
    description: 'Registers an OAuth client; a CONFIDENTIAL client’s secret is returned only here.',
  })
  async createOAuthClient(
    @Arg('input', () => CreateOAuthClientInput) input: CreateOAuthClientInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.db.transaction((tx) => ctx.services.oauthClients.createClient(tx, auditActorOf(ctx), input));
  }

  @Mutation(() => OAuthClientType, { description: 'Changes a client’s settings; its type and secret stay.' })
  async updateOAuthClient(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateOAuthClientInput) input: UpdateOAuthClientInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.db.transaction((tx) => ctx.services.oauthClients.updateClient(tx, auditActorOf(ctx), id, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a client: it can no longer obtain tokens.' })
  async deleteOAuthClient(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.oauthClients.deleteClient(tx, auditActorOf(ctx), id));
  }

  @Mutation(() => IssuedOAuthClientType, {
    description: 'Replaces a CONFIDENTIAL client’s secret; the old one stops working at once.',
  })
  async rotateOAuthClientSecret(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.oauthClients.rotateSecret(tx, auditActorOf(ctx), id));
  }

  @FieldResolver(() => OrgType)
  org(@Root() client: OAuthClientType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(client.orgId);
  }

  @FieldResolver(() => UserType, { nullable: true })
  createdBy(@Root() client: OAuthClientType, @Ctx() ctx: GraphQLContext) {
    return client.createdById ? ctx.loaders.userById.load(client.createdById) : null;
  }
}

@Resolver(() => OrgType)
export class OrgOAuthClientsResolver {
  @FieldResolver(() => OAuthClientConnection, { description: 'Ordered by name.' })
  async oauthClients(@Root() org: OrgType, @Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    return connectionFrom(
      OAuthClientConnection,
      await ctx.loaders.pages.load(orgOAuthClients, org.id, page),
      ctx.loaders.oauthClientById,
    );
  }
}
