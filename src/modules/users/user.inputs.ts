import { IdArgs } from '../../core/graphql/id-args';
import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';

@ArgsType()
export class UserByEmailArgs {
  @Field()
  @IsString()
  @Length(1, 320)
  email!: string;

  @Field(() => ID, { nullable: true, description: 'Look only among the members of this org.' })
  @IsOptional()
  @MaxLength(64)
  orgId?: string | null;
}

@InputType('UpdateUserInput')
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  lastName?: string | null;

  @Field(() => ID, { nullable: true, description: 'Only for yourself: an org you belong to.' })
  @IsOptional()
  @MaxLength(64)
  defaultOrgId?: string | null;
}

@ArgsType()
export class UpdateUserArgs extends IdArgs {
  @Field(() => UpdateUserInput)
  input!: UpdateUserInput;
}
