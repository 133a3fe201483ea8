import { IdArgs } from '../../core/graphql/id-args';
import { ArrayMaxSize, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';

/** The most user ids one call may add or remove. */
const MAX_USER_IDS = 100;

// The column allows 1-200 characters; a name of spaces only would be stored empty once trimmed.
const NOT_BLANK = { message: 'name must not be blank' };

@InputType('CreateTeamInput')
export class CreateTeamInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field()
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, NOT_BLANK)
  name!: string;
}

@InputType('UpdateTeamInput')
export class UpdateTeamInput {
  @Field(() => String, { nullable: true, description: 'Renaming also derives a new slug.' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, NOT_BLANK)
  name?: string | null;
}

@ArgsType()
export class UpdateTeamArgs extends IdArgs {
  @Field(() => UpdateTeamInput)
  input!: UpdateTeamInput;
}

@ArgsType()
export class TeamMembersArgs {
  @Field(() => ID)
  @MaxLength(64)
  teamId!: string;

  @Field(() => [ID])
  @ArrayMaxSize(MAX_USER_IDS)
  @MaxLength(64, { each: true })
  userIds!: string[];
}

@ArgsType()
export class UserTeamsArgs {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;
}
