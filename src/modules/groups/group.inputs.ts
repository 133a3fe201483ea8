import { IdArgs } from '../../core/graphql/id-args';
import { ArrayMaxSize, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';

/** The most principal ids one call may add or remove. */
export const MAX_PRINCIPAL_IDS = 100;

// The column allows 1-200 characters; a name of spaces only would be stored empty once trimmed.
const NOT_BLANK = { message: 'name must not be blank' };

@InputType('CreateGroupInput')
export class CreateGroupInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field()
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, NOT_BLANK)
  name!: string;

  @Field(() => ID, { nullable: true, description: 'A role of the org that every member inherits.' })
  @IsOptional()
  @MaxLength(64)
  roleId?: string | null;
}

@InputType('UpdateGroupInput')
export class UpdateGroupInput {
  @Field(() => String, { nullable: true, description: 'Omit to keep the name.' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, NOT_BLANK)
  name?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: "Omit to keep the group's role; pass null to remove it, so members inherit nothing.",
  })
  @IsOptional()
  @MaxLength(64)
  roleId?: string | null;
}

@ArgsType()
export class UpdateGroupArgs extends IdArgs {
  @Field(() => UpdateGroupInput)
  input!: UpdateGroupInput;
}

@ArgsType()
export class GroupMembersArgs {
  @Field(() => ID)
  @MaxLength(64)
  groupId!: string;

  @Field(() => [ID], { description: 'Users, service accounts or customers who are members of the org.' })
  @ArrayMaxSize(MAX_PRINCIPAL_IDS)
  @MaxLength(64, { each: true })
  principalIds!: string[];
}

@ArgsType()
export class UserGroupsArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;
}
