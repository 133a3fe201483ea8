import { IdArgs } from '../../core/graphql/id-args';
import { Arg, Args, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { auditActorOf, type GraphQLContext } from '../../core/context/context';
import { connectionFrom } from '../../core/graphql/connection-type';
import { emailLimitKey } from '../../core/rate-limit/email';
import { AuthPayloadType } from '../auth/auth.type';
import { signIn } from '../auth/sign-in';
import { OrgType } from '../orgs/org.type';
import { RoleType } from '../roles/role.type';
import { UserType } from '../users/user.type';
import type { InvitationEntity } from './invitation.entity';
import { AcceptInvitationInput, CreateInviteLinkInput, InvitationsArgs, InviteInput } from './invitation.inputs';
import { InvitationConnection, InvitationStatus, InvitationType, InviteLinkType } from './invitation.type';
import { orgInvitations } from './invitations.lists';
import { effectiveStatus } from './invitations.service';

@Resolver(() => InvitationType)
export class InvitationResolver {
  @Mutation(() => InvitationType, { description: 'Invites a person by email; the message is sent at once.' })
  async invite(@Arg('input', () => InviteInput) input: InviteInput, @Ctx() ctx: GraphQLContext) {
    await ctx.services.rateLimits.consume(
      ['invitePerIp', ctx.ipAddress],
      ['invitationMailPerEmail', await emailLimitKey(ctx.db, input.email)],
    );
    return ctx.db.transaction((tx) => ctx.services.invitations.invite(tx, auditActorOf(ctx), input));
  }

  @Mutation(() => InviteLinkType, { description: 'Creates a multi-use invitation link valid for at most 24 hours.' })
  async createInviteLink(
    @Arg('input', () => CreateInviteLinkInput) input: CreateInviteLinkInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    await ctx.services.rateLimits.consume(['inviteLinkPerIp', ctx.ipAddress], ['inviteLinkPerOrg', input.orgId]);
    return ctx.db.transaction((tx) => ctx.services.invitations.createLink(tx, auditActorOf(ctx), input));
  }

  @Mutation(() => InvitationType, { description: 'Sends a pending email invitation again with a new token.' })
  async resendInvitation(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    // Resending mails the same address as inviting, so both draw on that address's allowance.
    const recipient = (await ctx.loaders.invitationById.load(id))?.email;
    await ctx.services.rateLimits.consume(
      ['resendInvitationPerIp', ctx.ipAddress],
      ['resendInvitationPerInvitation', id],
      ...(recipient ? [['invitationMailPerEmail', await emailLimitKey(ctx.db, recipient)] as const] : []),
    );
    return ctx.db.transaction((tx) => ctx.services.invitations.resend(tx, auditActorOf(ctx), id));
  }

  @Mutation(() => InvitationType, { description: 'Withdraws a pending invitation.' })
  async revokeInvitation(@Args() { id }: IdArgs, @Ctx() ctx: GraphQLContext) {
    return ctx.db.transaction((tx) => ctx.services.invitations.revoke(tx, auditActorOf(ctx), id));
  }

  @Mutation(() => AuthPayloadType, {
    description: 'Joins the org of an invitation: signed in, as yourself; otherwise as a new account.',
  })
  async acceptInvitation(
    @Arg('input', () => AcceptInvitationInput) input: AcceptInvitationInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    await ctx.services.rateLimits.consume(
      ['acceptInvitationPerIp', ctx.ipAddress],
      ['acceptInvitationPerToken', input.token],
    );
    return signIn(ctx, await ctx.services.invitations.accept(input, ctx.principal, auditActorOf(ctx)));
  }

  @FieldResolver(() => InvitationStatus, { description: 'EXPIRED once a pending invitation is past its expiry.' })
  status(@Root() invitation: InvitationEntity): InvitationStatus {
    return effectiveStatus(invitation);
  }

  @FieldResolver(() => OrgType)
  org(@Root() invitation: InvitationType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.orgById.load(invitation.orgId);
  }

  @FieldResolver(() => RoleType)
  role(@Root() invitation: InvitationType, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.roleById.load(invitation.roleId);
  }

  @FieldResolver(() => UserType, { nullable: true })
  invitedBy(@Root() invitation: InvitationType, @Ctx() ctx: GraphQLContext) {
    return invitation.invitedById ? ctx.loaders.userById.load(invitation.invitedById) : null;
  }
}

@Resolver(() => OrgType)
export class OrgInvitationsResolver {
  @FieldResolver(() => InvitationConnection, { description: 'Newest first; filter by status.' })
  async invitations(@Root() org: OrgType, @Args() { status, ...page }: InvitationsArgs, @Ctx() ctx: GraphQLContext) {
    const invitations = await ctx.loaders.pages.load(orgInvitations(status), org.id, page);
    return connectionFrom(InvitationConnection, invitations, ctx.loaders.invitationById);
  }
}
