import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { MembershipStatus } from './membership.entity';
import { NodeInterface } from '../nodes/node.type';

registerEnumType(MembershipStatus, { name: 'MembershipStatus' });

@ObjectType('Membership', { implements: NodeInterface, description: "A user's place in one org, with one role." })
export class MembershipType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field(() => MembershipStatus)
  status!: MembershipStatus;

  @Field()
  createdAt!: Date;

  userId!: string;
  orgId!: string;
  roleId!: string;
  invitedById!: string | null;
}
