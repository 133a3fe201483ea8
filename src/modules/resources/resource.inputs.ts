import { IdArgs } from '../../core/graphql/id-args';
import { ArrayMaxSize, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { NotBlank } from '../../core/graphql/text-rules';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { AccessLevel } from './access-grant.entity';

@InputType('CreateResourceInput')
export class CreateResourceInput {
  @Field(() => ID)
  @MaxLength(64)
  orgId!: string;

  @Field({ description: 'Unique within the org; checkAccess and /auth/check accept it in place of the id.' })
  @IsString()
  @Length(1, 200)
  @NotBlank()
  name!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  environment?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  category?: string | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  customerIds?: string[] | null;
}

@InputType('UpdateResourceInput')
export class UpdateResourceInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @NotBlank()
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  environment?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  category?: string | null;

  @Field(() => [String], { nullable: true, description: 'Replaces the list.' })
  @IsOptional()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  customerIds?: string[] | null;
}

@ArgsType()
export class UpdateResourceArgs extends IdArgs {
  @Field(() => UpdateResourceInput)
  input!: UpdateResourceInput;
}

@ArgsType()
export class GrantAccessArgs {
  @Field(() => ID)
  @MaxLength(64)
  resourceId!: string;

  @Field(() => ID, { description: 'A user, service account, customer or group of the org.' })
  @MaxLength(64)
  principalId!: string;

  @Field(() => AccessLevel)
  level!: AccessLevel;
}

@ArgsType()
export class GrantIdArgs {
  @Field(() => ID)
  @MaxLength(64)
  grantId!: string;
}

@ArgsType()
export class RevokeAllArgs {
  @Field(() => ID)
  @MaxLength(64)
  resourceId!: string;
}

@ArgsType()
export class CheckAccessArgs {
  @Field({ description: 'A resource id, or its name within the org.' })
  @IsString()
  @Length(1, 200)
  resource!: string;

  @Field(() => AccessLevel)
  level!: AccessLevel;

  @Field(() => ID, { nullable: true, description: 'Whom to check; the caller by default.' })
  @IsOptional()
  @MaxLength(64)
  principalId?: string | null;

  @Field(() => ID, { nullable: true, description: "The resource's org when named; the caller's token org by default." })
  @IsOptional()
  @MaxLength(64)
  orgId?: string | null;
}
