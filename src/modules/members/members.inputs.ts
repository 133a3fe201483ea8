import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType, registerEnumType } from 'type-graphql';
import { PageArgs } from '../../core/graphql/connection';
import { PrincipalKind } from '../users/user.entity';
import { MembershipStatus } from './membership.entity';

export enum UserOrderField {
  EMAIL = 'EMAIL',
  NAME = 'NAME',
  CREATED_AT = 'CREATED_AT',
  LAST_LOGIN_AT = 'LAST_LOGIN_AT',
}

export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}

registerEnumType(UserOrderField, {
  name: 'UserOrderField',
  description: 'CREATED_AT is when the user joined the org.',
});
registerEnumType(OrderDirection, { name: 'OrderDirection' });

@InputType('UserFilter')
export class UserFilter {
  @Field(() => String, { nullable: true, description: 'A role key (e.g. "admin") or role id.' })
  @IsOptional()
  @MaxLength(100)
  role?: string | null;

  @Field(() => MembershipStatus, { nullable: true, description: 'The membership status in this org.' })
  @IsOptional()
  status?: MembershipStatus | null;

  @Field(() => PrincipalKind, { nullable: true })
  @IsOptional()
  kind?: PrincipalKind | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @MaxLength(64)
  teamId?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @MaxLength(64)
  groupId?: string | null;

  @Field(() => String, { nullable: true, description: 'Part of the email or name, case-insensitive.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string | null;
}

@InputType('UserOrder')
export class UserOrder {
  @Field(() => UserOrderField)
  @IsIn(Object.values(UserOrderField))
  field!: UserOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.ASC })
  @IsIn(Object.values(OrderDirection))
  direction!: OrderDirection;
}

@ArgsType()
export class MembersArgs extends PageArgs {
  @Field(() => UserFilter, { nullable: true })
  @IsOptional()
  filter?: UserFilter | null;

  @Field(() => UserOrder, { nullable: true, description: 'Default: by email, ascending.' })
  @IsOptional()
  orderBy?: UserOrder | null;
}

@ArgsType()
export class UsersArgs extends MembersArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;
}

@ArgsType()
export class MemberArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field(() => ID)
  @MaxLength(64)
  userId!: string;
}

@ArgsType()
export class ChangeRoleArgs extends MemberArgs {
  @Field(() => ID)
  @MaxLength(64)
  roleId!: string;
}
