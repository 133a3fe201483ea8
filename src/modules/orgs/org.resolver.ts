import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { AppError } from '../../core/errors/app-error';
import { PageArgs } from '../../core/graphql/connection';
import { connectionFrom } from '../../core/graphql/connection-type';
import { isId } from '../../core/ids';
import { RoleType } from '../roles/role.type';
import { slugify } from './slug';
import { CreateOrgInput, OrgLookupArgs, UpdateOrgArgs } from './org.inputs';
import { OrgConnection, OrgType } from './org.type';
import { visibleOrgs } from './orgs.lists';

@Resolver(() => OrgType)
export class OrgResolver {
  @Query(() => OrgType, { nullable: true, description: 'An org the caller belongs to, by id or slug.' })
  async org(@Args() { id, slug }: OrgLookupArgs, @Ctx() ctx: GraphQLContext) {
    if (id) return isId(id) ? ctx.loaders.orgById.load(id) : null;
    if (slug) return ctx.loaders.orgBySlug.load(slug);
    throw new AppError('request.invalid_input', { message: 'Give an id or a slug', field: 'id' });
  }

  @Query(() => OrgConnection, { description: "The caller's orgs by name (every org, for a super user)." })
  async orgs(@Args() page: PageArgs, @Ctx() ctx: GraphQLContext) {
    const principal = ctx.principal!;
    const orgs = await ctx.loaders.pages.load(visibleOrgs(principal.superUser), principal.userId, page);
    return connectionFrom(OrgConnection, orgs, ctx.loaders.orgById);
  }

  @Mutation(() => OrgType, { description: 'Creates an org; the caller becomes its owner.' })
  async createOrg(@Arg('input', () => CreateOrgInput) input: CreateOrgInput, @Ctx() ctx: GraphQLContext) {
    const owner = ctx.principal!;
    const org = { name: input.name, slug: input.slug ?? slugify(input.name) };
    return ctx.db.transaction((tx) => ctx.services.orgs.createOrg(tx, org, owner.userId, auditActorOf(ctx)));
  }

  @Mutation(() => OrgType, {
    description: 'Renames an org, changes its slug, or whether it requires verified email addresses.',
  })
  async updateOrg(@Args() { id, input }: UpdateOrgArgs, @Ctx() ctx: GraphQLContext) {
    const changes = {
      name: input.name ?? undefined,
      slug: input.slug ?? undefined,
      requireVerifiedEmail: input.requireVerifiedEmail ?? undefined,
    };
    return ctx.db.transaction((tx) => ctx.services.orgs.updateOrg(tx, auditActorOf(ctx), id, changes));
  }

  @FieldResolver(() => [RoleType], { description: 'Built-in and custom roles.' })
  async roles(@Root() org: OrgType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.rolesByOrgId.load(org.id);
  }

  @FieldResolver(() => RoleType, {
    nullable: true,
    description: "The caller's role here (null for a super user who is not a member).",
  })
  async viewerRole(@Root() org: OrgType, @Ctx() ctx: GraphQLContext) {
    const membership = await ctx.access.membership(org.id);
    return membership ? ctx.loaders.roleById.load(membership.roleId) : null;
  }
}
