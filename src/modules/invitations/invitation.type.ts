import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../core/graphql/connection-type';
import { NodeInterface } from '../nodes/node.type';
import { InvitationKind } from './invitation.entity';

export enum InvitationStatus {
  PENDING = 'PENDING',
  ACCEPTED = 'ACCEPTED',
  REVOKED = 'REVOKED',
  EXPIRED = 'EXPIRED',
}

registerEnumType(InvitationKind, { name: 'InvitationKind' });
registerEnumType(InvitationStatus, { name: 'InvitationStatus' });

@ObjectType('Invitation', { implements: NodeInterface, description: 'An offer to join an org, by email or by link.' })
export class InvitationType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Null for a link invitation.' })
  email!: string | null;

  @Field(() => InvitationKind)
  kind!: InvitationKind;

  @Field(() => String, { nullable: true })
  message!: string | null;

  @Field(() => String, { nullable: true })
  customerId!: string | null;

  @Field()
  expiresAt!: Date;

  @Field(() => Int, { nullable: true, description: 'Link invitations: how many people may use it.' })
  maxUses!: number | null;

  @Field(() => Int)
  useCount!: number;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  acceptedAt!: Date | null;

  @Field(() => [ID])
  groupIds!: string[];

  @Field(() => [ID])
  teamIds!: string[];

  orgId!: string;
  roleId!: string;
  invitedById!: string | null;
}

@ObjectType('InviteLink', { description: 'A shareable invitation link; its token is shown only here, once.' })
export class InviteLinkType {
  @Field(() => InvitationType)
  invitation!: InvitationType;

  @Field()
  url!: string;

  @Field()
  token!: string;

  @Field()
  expiresAt!: Date;
}

export const InvitationConnection = connectionType(
  'Invitation',
  () => InvitationType,
  "An org's invitations, newest first.",
);
