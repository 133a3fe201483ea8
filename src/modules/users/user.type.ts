import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { PrincipalKind, UserStatus } from './user.entity';
import { NodeInterface } from '../nodes/node.type';

registerEnumType(PrincipalKind, { name: 'PrincipalKind', description: 'What kind of principal an identity is.' });
registerEnumType(UserStatus, { name: 'UserStatus', description: 'Account-level status.' });

@ObjectType('User', { implements: NodeInterface, description: 'A person, service account or customer.' })
export class UserType implements NodeInterface {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Null for service accounts.' })
  email!: string | null;

  @Field(() => String, { nullable: true })
  firstName!: string | null;

  @Field(() => String, { nullable: true })
  lastName!: string | null;

  @Field(() => PrincipalKind)
  kind!: PrincipalKind;

  @Field(() => UserStatus)
  status!: UserStatus;

  @Field(() => Date, { nullable: true })
  lockedAt!: Date | null;

  @Field(() => String, { nullable: true })
  lockReason!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Visible to the user, super users and member admins.' })
  superUser!: boolean;

  @Field(() => String, { nullable: true })
  customerId!: string | null;

  @Field(() => Date, { nullable: true })
  emailVerifiedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastLoginAt!: Date | null;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  /** Not exposed: resolves `defaultOrg`. */
  defaultOrgId!: string | null;
}
