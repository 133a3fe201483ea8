import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { MembershipStatus } from './membership.entity';

registerEnumType(MembershipStatus, { name: 'MembershipStatus' });

@ObjectType('Membership', { description: "A user's place in one org, with one role." })
export class MembershipType {
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
